import { redact } from "@hyperdrive-kit/core/adapter";
import { type Finding, type FindingCode, pass, problem } from "../findings.ts";
import type { DatabaseUrl } from "../local-string.ts";
import { elapsed } from "./io.ts";

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

  fail(check: string, code: FindingCode, title: string): false {
    this.findings.push(problem("fail", check, code, this.clean(title), { durationMs: this.took() }));
    return false;
  }
}

export const describeError = (error: unknown) => (error instanceof Error ? error.message : String(error));
