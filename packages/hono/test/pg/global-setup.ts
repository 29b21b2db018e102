import { setupDatabase } from "@hyperdrive-kit/testing/setup";

export default setupDatabase({ engine: "postgres", globalScopeEntry: new URL("./global-scope.ts", import.meta.url) });
