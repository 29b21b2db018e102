// The database interface the README's snippets import.
import type { Generated } from "kysely";

export interface Database {
  person: { id: Generated<number>; name: string };
}
