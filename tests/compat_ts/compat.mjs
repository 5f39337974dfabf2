// late-mcp as an independent client sees it: the official TypeScript SDK, over stdio or HTTP.
//   node compat.mjs stdio <command> [args...]   start late-mcp and talk over its stdin/stdout
//   node compat.mjs http <url>                  talk streamable HTTP to a running late-mcp
// Prints one JSON line with what it saw; exits 1 with the reason on stderr when a check fails.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [mode, target, ...rest] = process.argv.slice(2);

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function text(result) {
  return (result.content ?? []).filter((b) => b.type === "text").map((b) => b.text).join("\n");
}

function transportFor() {
  if (mode === "stdio") {
    return new StdioClientTransport({ command: target, args: rest, env: process.env, stderr: "inherit" });
  }
  if (mode === "http") return new StreamableHTTPClientTransport(new URL(target));
  throw new Error(`unknown mode ${mode}: use stdio or http`);
}

const client = new Client({ name: "late-mcp-compat-ts", version: "1.0.0" });
try {
  await client.connect(transportFor());
  const server = client.getServerVersion();
  check(server?.name === "late-mcp", `server name is ${server?.name}`);

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const name of ["profiles_list", "profiles_create", "posts_create"]) {
    check(names.includes(name), `tools/list lacks ${name}`);
  }
  const readTool = tools.find((t) => t.name === "profiles_list");
  check(readTool.annotations?.readOnlyHint === true, "profiles_list is not marked read-only");

  const read = await client.callTool({ name: "profiles_list", arguments: {} });
  check(!read.isError, `profiles_list failed: ${text(read)}`);
  check(text(read).startsWith("[sandbox"), `profiles_list answered ${text(read).slice(0, 80)}`);

  const write = await client.callTool({ name: "profiles_create", arguments: { name: "TS compat" } });
  check(!write.isError, `profiles_create failed: ${text(write)}`);
  // The data is sent once, as the text's last line (no structuredContent beside it).
  check(write.structuredContent === undefined, "profiles_create sent its data twice");
  const profileId = JSON.parse(text(write).split("\n").at(-1))?.profile?.id;
  check(typeof profileId === "string", "profiles_create returned no profile id");

  const refused = await client.callTool({
    name: "posts_create",
    arguments: { content: "hi", accounts: ["twitter"], publish_now: true },
  });
  check(refused.isError === true, "an ambiguous posts_create was not refused");
  check(text(refused).includes("'twitter' does not say whose twitter account"), `refusal says: ${text(refused)}`);

  console.log(JSON.stringify({ mode, tools: names.length, profileId, error: text(refused).slice(0, 120) }));
  await client.close();
} catch (err) {
  console.error(`compat (${mode}): ${err.message}`);
  await client.close().catch(() => {});
  process.exit(1);
}
