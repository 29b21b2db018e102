import { catalog, fixFor, type HyperdriveErrorCode } from "@hyperdrive-kit/core";
import { redact } from "@hyperdrive-kit/core/adapter";
import { type Finding, type FindingCode, pass, problem } from "../findings.ts";
import type { DatabaseUrl } from "../local-string.ts";
import { LOCAL_DEV } from "../rules.ts";
import { elapsed } from "./io.ts";
import { hostPort, type LocalSituation, localFix } from "./local.ts";

export type Target = "production" | "local";

export type SslMode = "disable" | "require" | "verify-ca" | "verify-full";

export interface ProbeSettings {
  url: DatabaseUrl;
  target: Target;
  /** What TLS to use: `disable` only for local targets. */
  sslmode: SslMode;
  ca?: string;
  clientCert?: string;
  clientKey?: string;
  timeoutMs: number;
  /** For a local target: where the URL is set, named in the fixes. */
  source?: string;
}

/** Collects one preflight's findings in order, with timings and the progress line. */
export class Probe {
  readonly findings: Finding[] = [];
  private started = performance.now();

  readonly settings: ProbeSettings;
  private readonly onProgress: (label: string | undefined) => void;

  constructor(settings: ProbeSettings, onProgress: (label: string | undefined) => void) {
    this.settings = settings;
    this.onProgress = onProgress;
  }

  /** Starts timing a step and shows what the doctor waits for. */
  begin(label: string): void {
    this.started = performance.now();
    this.onProgress(label);
  }

  private took() {
    this.onProgress(undefined);
    return elapsed(this.started);
  }

  /** Server messages may quote the user; never the password, but redact anyway. */
  clean(text: string): string {
    return redact(text, [this.settings.url.password]);
  }

  ok(check: string, title: string): void {
    this.findings.push(pass(check, this.clean(title), { durationMs: this.took() }));
  }

  warn(check: string, code: FindingCode, title: string): void {
    this.findings.push(problem("warn", check, code, this.clean(title), { durationMs: this.took() }));
  }

  /** `situation` picks the local fix where one code covers several causes (see local.ts). */
  fail(check: string, code: FindingCode, title: string, situation?: LocalSituation): false {
    this.findings.push(
      problem("fail", check, code, this.clean(title), { durationMs: this.took(), ...this.fixFor(code, situation) }),
    );
    return false;
  }

  /** A local database gets fixes for a local database, not Hyperdrive's (firewalls, public DNS, support tickets). */
  private fixFor(code: FindingCode, situation: LocalSituation | undefined): { fix?: string; docs?: string } {
    if (this.settings.target !== "local") {
      // Something that is not the database answered: Hyperdrive's "open a support ticket" or "check public DNS" is
      // not the fix, the port is.
      if (situation === "answer" && NOT_THE_DATABASE.has(code))
        return { fix: this.clean(notTheDatabase(this.settings.url)) };
      // The catalogue's MySQL-only advice (1044: a database not granted to the user) applies to a MySQL origin.
      if (!(code in catalog) || this.settings.url.engine !== "mysql") return {};
      return { fix: fixFor(catalog[code as HyperdriveErrorCode], "mysql") };
    }
    const fix = localFix(code, this.settings, situation);
    return fix ? { fix: this.clean(fix), docs: LOCAL_DEV } : {};
  }
}

/** Codes a server that is not the database produces, by the way it fails to answer. */
const NOT_THE_DATABASE = new Set<FindingCode>([
  "HDK_CONFIG_GENERIC",
  "HDK_CONFIG_UNREACHABLE",
  "HDK_CONFIG_CONNECTION_REFUSED",
]);

function notTheDatabase(url: DatabaseUrl): string {
  const server = url.engine === "postgres" ? "PostgreSQL" : "MySQL";
  return `${hostPort(url)} accepted the connection but did not answer as a ${server} server does: check that ${url.port} is your database's port (${server} listens on ${url.engine === "postgres" ? 5432 : 3306} unless configured otherwise), not another service (a web server, SSH, a proxy). If it is the database, read its log.`;
}

export const describeError = (error: unknown) => (error instanceof Error ? error.message : String(error));
