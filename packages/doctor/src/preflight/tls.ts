/** The TLS handshake step both engines share: upgrade, verify as the sslmode says, and name the failure. */
import type { Socket } from "node:net";
import { isIP } from "node:net";
import type { TLSSocket } from "node:tls";
import { describeError, type Probe } from "./context.ts";
import { IoError, tlsFailure, tlsUpgrade } from "./io.ts";

/** The client side of the TLS options both the handshake step and the drivers' login use. */
export function clientTls(probe: Probe): { servername?: string; cert?: string; key?: string } {
  const { url, clientCert, clientKey } = probe.settings;
  return {
    // SNI takes a host name, never an IP address.
    ...(isIP(url.host) ? {} : { servername: url.host }),
    ...(clientCert ? { cert: clientCert } : {}),
    ...(clientKey ? { key: clientKey } : {}),
  };
}

/** Reports a failed handshake (or a TLS alert after it) with the catalogue entry that names its cause. */
export function tlsProblem(probe: Probe, error: unknown, check = "preflight.tls-handshake"): false {
  const code = (error as { code?: string }).code;
  const message = describeError(error);
  const reason = `${message}${code && !message.includes(code) ? ` (${code})` : ""}`;
  switch (tlsFailure(error)) {
    case "certificate":
      return probe.fail(
        check,
        "HDK_CONFIG_CERT_VALIDATION_FAILED",
        `TLS handshake failed: cert validation failed: ${reason}`,
      );
    case "client-certificate":
      return probe.fail(
        check,
        "HDK_CONFIG_CLIENT_CERT_REQUIRED",
        `Server return error and closed connection: the server wants a client certificate (${reason})`,
      );
    default:
      return probe.fail(
        check,
        error instanceof IoError && error.kind === "timeout" ? "HDK_CONFIG_UNREACHABLE" : "HDK_CONFIG_GENERIC",
        `TLS handshake failed: ${reason}`,
      );
  }
}

/** Upgrades `socket` and reports the handshake; `undefined` when it failed (the finding is already recorded). */
export async function handshake(probe: Probe, socket: Socket): Promise<TLSSocket | undefined> {
  const { sslmode, ca, timeoutMs, url } = probe.settings;
  const verifyChain = sslmode === "verify-ca" || sslmode === "verify-full";
  probe.begin("TLS handshake");
  let secure: TLSSocket;
  try {
    secure = await tlsUpgrade(
      socket,
      { ...clientTls(probe), ...(ca ? { ca } : {}), verifyChain, verifyHost: sslmode === "verify-full" },
      timeoutMs,
    );
  } catch (error) {
    tlsProblem(probe, error);
    return undefined;
  }
  const version = secure.getProtocol() ?? "TLS";
  const [require, verify] = url.engine === "mysql" ? ["REQUIRED", "VERIFY_IDENTITY"] : ["require", "verify-full"];
  probe.ok(
    "preflight.tls-handshake",
    verifyChain
      ? `${version} handshake; server certificate verified (${sslmode}${ca ? " against the given CA" : ""})`
      : `${version} handshake (sslmode=${require}: the certificate is not verified; give --ca and --sslmode=${verify} to check it)`,
  );
  return secure;
}
