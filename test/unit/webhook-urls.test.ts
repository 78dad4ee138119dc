/**
 * The webhook URL policy itself (src/lib/webhook-urls.ts), for what HTTP cannot reach: the
 * local-development mode (`WEBHOOKS_ALLOW_INSECURE_URLS=on`, which the test runtime pins off) and the
 * exact edges of the IPv6 ranges added in hardening round two. The routes' and the queue consumer's
 * use of it are tested in webhook-endpoints.test.ts and webhooks.delivery.test.ts.
 */
import { describe, expect, it } from "vitest";
import { normalisedWebhookUrl, webhookUrlProblem } from "../../src/lib/webhook-urls";

const INTERNAL = /must not point at a loopback, private, link-local or internal address/;

describe("IPv6 ranges refused as a whole, whatever they carry, and their edges", () => {
  it.each([
    [
      "::ffff:0:0:0/96 (IPv4-translated)",
      ["[::ffff:0:0:0]", "[::ffff:0:ffff:ffff]", "[::ffff:0:1.1.1.1]", "[0:0:0:0:ffff:0:0808:0808]"],
      ["[::fffe:0:808:808]", "[::ffff:1:808:808]", "[1::ffff:0:808:808]"],
    ],
    [
      "64:ff9b:1::/48 (local-use NAT64)",
      ["[64:ff9b:1::]", "[64:ff9b:1:ffff:ffff:ffff:ffff:ffff]", "[64:ff9b:1::8.8.8.8]"],
      ["[64:ff9b:2::]", "[64:ff9a:1::1]", "[64:ff9b::808:808]"],
    ],
    [
      "2001::/32 (Teredo)",
      ["[2001::]", "[2001:0:ffff:ffff:ffff:ffff:ffff:ffff]", "[2001:0000:4136:e378:8000:63bf:3fff:fdd2]"],
      ["[2001:1::]", "[2000:ffff::1]", "[2001:4860:4860::8888]"],
    ],
    ["fec0::/10 (site-local)", ["[fec0::]", "[feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]", "[FEC0::1]"], ["[fbff::1]"]],
  ])("%s: refused from its first to its last address; its neighbours outside are not", (_range, inside, outside) => {
    for (const host of inside) expect(webhookUrlProblem(`https://${host}/`, false), host).toMatch(INTERNAL);
    for (const host of outside) expect(webhookUrlProblem(`https://${host}/`, false), host).toBeUndefined();
    // Local development lets internal addresses through, these included.
    for (const host of inside) expect(webhookUrlProblem(`http://${host}/`, true), host).toBeUndefined();
  });

  it("the older ranges keep their edges: link-local ends where site-local begins, multicast after it", () => {
    expect(webhookUrlProblem("https://[febf:ffff::1]/", false)).toMatch(INTERNAL);
    expect(webhookUrlProblem("https://[fec0::1]/", false)).toMatch(INTERNAL);
    expect(webhookUrlProblem("https://[ff00::1]/", false)).toMatch(INTERNAL);
    expect(webhookUrlProblem("https://[::ffff:10.0.0.1]/", false)).toMatch(INTERNAL);
    expect(webhookUrlProblem("https://[::ffff:8.8.8.8]/", false)).toBeUndefined();
  });
});

describe("refused in local development too", () => {
  it.each([
    ["http://localhost.:8788/hook", /must not end its host name with a dot/],
    ["https://example.com./", /must not end its host name with a dot/],
    ["http://127.0.0.1:8788/ho\tok", /control characters/],
    ["http://localhost:8788/\u0000", /control characters/],
    ["http://localhost:8788/\u007F", /control characters/],
    ["http://localhost:8788/\u0085", /control characters/],
  ])("%s", (url, problem) => {
    expect(webhookUrlProblem(url, true)).toMatch(problem);
    expect(webhookUrlProblem(url, false)).toBeDefined();
  });

  it("an IPv4 literal's trailing dot is the parser's to drop: judged and stored as the address", () => {
    expect(webhookUrlProblem("http://127.0.0.1.:8788/hook", true)).toBeUndefined();
    expect(normalisedWebhookUrl("http://127.0.0.1.:8788/hook")).toBe("http://127.0.0.1:8788/hook");
    expect(webhookUrlProblem("https://127.0.0.1./hook", false)).toMatch(INTERNAL);
    // …while a name's is refused, in either mode.
    expect(webhookUrlProblem("http://localhost./hook", true)).toMatch(/must not end its host name with a dot/);
  });
});
