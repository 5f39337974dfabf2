// The TypeScript SDK's OAuth client against a running late-mcp: it discovers sign-in from the 401,
// registers, and is sent to the consent page, which this script answers over HTTP as a person would
// (sign in, tick one profile, approve); then it finishes sign-in, lists tools and calls one.
//   node oauth.mjs <mcp url> <user> <password> <profile id>
// Prints one JSON line with what it saw; exits 1 with the reason on stderr when a check fails.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [target, user, password, profile] = process.argv.slice(2);
const REDIRECT = "http://127.0.0.1:51998/callback"; // nothing listens: the redirect is caught

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function hidden(page, name) {
  const found = page.match(new RegExp(`name="${name}" value="([^"]*)"`));
  check(found, `the consent page has no ${name} field`);
  return found[1];
}

// What a person does in the browser the SDK sends them to: returns the code the redirect carries.
async function consent(authorizationUrl) {
  const authorize = await fetch(authorizationUrl, { redirect: "manual" });
  check(authorize.status === 302, `authorize answered ${authorize.status}: ${await authorize.text()}`);
  const pageUrl = new URL(authorize.headers.get("location"), authorizationUrl);
  const page = await fetch(pageUrl);
  const html = await page.text();
  check(page.status === 200, `the consent page answered ${page.status}`);
  check(html.includes(`value="${profile}"`), "the consent page does not offer the profile");
  check(!/checked/.test(html), "something on the consent page is ticked already");
  const cookie = (page.headers.get("set-cookie") ?? "").split(";")[0];
  const form = new URLSearchParams({
    request: hidden(html, "request"),
    csrf: hidden(html, "csrf"),
    username: user,
    password,
    profile,
    action: "approve",
  });
  const posted = await fetch(new URL("/consent", pageUrl), {
    method: "POST",
    body: form,
    redirect: "manual",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
  });
  check(posted.status === 303, `the consent form answered ${posted.status}: ${await posted.text()}`);
  const back = new URL(posted.headers.get("location"));
  check(back.href.startsWith(REDIRECT), `the consent page sent the browser to ${back.href}`);
  return back.searchParams.get("code");
}

const stored = {};
let code;
const authProvider = {
  get redirectUrl() {
    return REDIRECT;
  },
  get clientMetadata() {
    return {
      client_name: "TypeScript compat",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  },
  clientInformation: () => stored.client,
  saveClientInformation: (info) => {
    stored.client = info;
  },
  tokens: () => stored.tokens,
  saveTokens: (tokens) => {
    stored.tokens = tokens;
  },
  redirectToAuthorization: async (url) => {
    code = await consent(url);
  },
  saveCodeVerifier: (verifier) => {
    stored.verifier = verifier;
  },
  codeVerifier: () => stored.verifier,
};

try {
  const first = new StreamableHTTPClientTransport(new URL(target), { authProvider });
  try {
    await new Client({ name: "late-mcp-oauth-ts", version: "1.0.0" }).connect(first);
    throw new Error("connected without signing in");
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
  }
  check(typeof code === "string", "no code came back from the consent page");
  await first.finishAuth(code);
  check(typeof stored.tokens?.access_token === "string", "no access token after finishAuth");

  const client = new Client({ name: "late-mcp-oauth-ts", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(target), { authProvider }));
  const { tools } = await client.listTools();
  const read = await client.callTool({ name: "profiles_list", arguments: {} });
  check(!read.isError, `profiles_list failed: ${JSON.stringify(read.content)}`);
  const data = JSON.parse((read.content ?? []).filter((b) => b.type === "text").map((b) => b.text).join("\n").split("\n").at(-1));
  const profiles = (data?.profiles ?? []).map((p) => p.id);
  console.log(JSON.stringify({ tools: tools.map((t) => t.name), profiles, token: stored.tokens.token_type }));
  await client.close();
} catch (err) {
  console.error(`oauth: ${err.message}`);
  process.exit(1);
}
