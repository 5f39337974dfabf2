// What the test host page needs from the ext-apps package's host side, bundled for the browser.
export { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";
