/** MySQL through the simulator from Node: what no driver sends on its own, written as raw packets. */
import { type RunningServer, startMariadb } from "@hyperdrive-kit/testing/servers";
import mysql from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Simulator, startSimulator } from "../../src/index.ts";
import { MYSQL_REFUSAL_MESSAGES, mysqlRefusal } from "../../src/mysql/refusals.ts";
import { lex } from "../../src/sql.ts";

const ED25519_PASSWORD = "ed-pw";
let server: RunningServer;
let simulator: Simulator;

beforeAll(async () => {
  server = await startMariadb({
    setup: async (root) => {
      // An account on an authentication plugin Hyperdrive does not support.
      await root.query("INSTALL SONAME 'auth_ed25519'");
      await root.query(`CREATE USER 'ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('${ED25519_PASSWORD}')`);
      await root.query("GRANT ALL PRIVILEGES ON hdk.* TO 'ed'@'%'");
    },
  });
  simulator = await startSimulator({ origin: server.url });
});
afterAll(async () => {
  await simulator?.close();
  await server?.stop();
});

/** Logs in with mysql2, then takes its socket: sends one command packet and reads the answer's first packet. */
async function rawCommand(
  command: number,
  payload: Buffer,
): Promise<{ errno: number; sqlState: string; message: string }> {
  const connection = mysql.createConnection({ uri: simulator.localConnectionString });
  connection.on("error", () => {}); // the socket is taken away and destroyed below
  await new Promise<void>((resolve, reject) => connection.connect((error) => (error ? reject(error) : resolve())));
  const stream = (connection as unknown as { stream: NodeJS.ReadWriteStream & { destroy(): void } }).stream;
  stream.removeAllListeners("data");
  const answer = new Promise<Buffer>((resolve) => stream.once("data", (chunk: Buffer) => resolve(chunk)));
  const body = Buffer.concat([Buffer.from([command]), payload]);
  const header = Buffer.alloc(4);
  header.writeUIntLE(body.length, 0, 3);
  stream.write(Buffer.concat([header, body]));
  const packet = await answer;
  stream.destroy();
  expect(packet[4]).toBe(0xff); // an ERR packet
  return {
    errno: packet.readUInt16LE(5),
    sqlState: packet.toString("ascii", 8, 13),
    message: packet.toString("utf8", 13, 4 + packet.readUIntLE(0, 3)),
  };
}

describe("MySQL refusals", () => {
  it("refuses COM_INIT_DB", async () => {
    expect(await rawCommand(0x02, Buffer.from("hdk"))).toEqual({
      errno: 1105,
      sqlState: "HY000",
      message: MYSQL_REFUSAL_MESSAGES["init-db"],
    });
  });

  it("refuses query text that is not UTF-8", async () => {
    const latin1 = Buffer.concat([Buffer.from("select '"), Buffer.from([0xe9, 0xff]), Buffer.from("' as x")]);
    expect(await rawCommand(0x03, latin1)).toMatchObject({ errno: 1105, message: MYSQL_REFUSAL_MESSAGES["non-utf8"] });
    expect(mysqlRefusal(lex("select 'é'"))).toBeUndefined();
  });

  it("refuses an origin account on an authentication plugin Hyperdrive does not support", async () => {
    const origin = new URL(server.url);
    origin.username = "ed";
    origin.password = ED25519_PASSWORD;
    const viaEd = await startSimulator({ origin: origin.toString() });
    try {
      const connection = mysql.createConnection({ uri: viaEd.localConnectionString });
      connection.on("error", () => {});
      const error = await new Promise<unknown>((resolve) =>
        connection.query("select 1", (queryError) => resolve(queryError)),
      );
      connection.destroy();
      expect({ ...(error as object), message: (error as Error).message }).toMatchObject({
        errno: 1105,
        message: expect.stringMatching(/^Server connection attempt failed: .*client_ed25519.*caching_sha2_password/),
      });
    } finally {
      await viaEd.close();
    }
  });
});
