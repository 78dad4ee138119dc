/**
 * Webhook building blocks, as units: Standard Webhooks v1 signing (the reference test vector, the
 * `standardwebhooks` package verifying what we send, one entry per secret during a rotation, new
 * secrets' format) and the webhook URL policy (strict, and the local-development insecure mode).
 */
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { newWebhookSecret, signatureHeader, signV1 } from "../../src/lib/webhook-signature";
import { webhookUrlProblem } from "../../src/lib/webhook-urls";

// upstreams.md §7: the vector of the official Go and C# library tests.
const VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

const ENTRY = /^v1,[A-Za-z0-9+/]{43}=$/;
const nowS = () => Math.floor(Date.now() / 1000);
const headersFor = (id: string, timestamp: number, signature: string) => ({
  "webhook-id": id,
  "webhook-timestamp": String(timestamp),
  "webhook-signature": signature,
});
const decodedLength = (secret: string) => atob(secret.slice("whsec_".length)).length;

describe("Standard Webhooks signatures", () => {
  it("reproduce the reference test vector", async () => {
    expect(await signV1(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
    expect(await signatureHeader([VECTOR.secret], VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
    // The reference library agrees on the same input.
    expect(new Webhook(VECTOR.secret).sign(VECTOR.id, new Date(VECTOR.timestamp * 1000), VECTOR.body)).toBe(VECTOR.signature);
  });

  it("sign the id, the timestamp and the exact body: changing any one changes the signature", async () => {
    const base = await signV1(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body);
    expect(await signV1(VECTOR.secret, "msg_other", VECTOR.timestamp, VECTOR.body)).not.toBe(base);
    expect(await signV1(VECTOR.secret, VECTOR.id, VECTOR.timestamp + 1, VECTOR.body)).not.toBe(base);
    expect(await signV1(VECTOR.secret, VECTOR.id, VECTOR.timestamp, '{"test":2432232314}')).not.toBe(base);
    expect(await signV1(`whsec_${btoa("another secret, 24 bytes")}`, VECTOR.id, VECTOR.timestamp, VECTOR.body)).not.toBe(base);
  });

  it("take the secret with or without base64 padding, as the reference libraries do", async () => {
    const secret = newWebhookSecret();
    expect(secret.endsWith("=")).toBe(true);
    const padded = await signV1(secret, VECTOR.id, VECTOR.timestamp, VECTOR.body);
    expect(await signV1(secret.replace(/=+$/, ""), VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(padded);
  });

  it("produce a header the standardwebhooks package verifies, and only for the exact body and secret", async () => {
    const secret = newWebhookSecret();
    const id = "evt_01JD0000000000000000000000";
    const body = JSON.stringify({ id, object: "event", type: "webhook.test", data: { message: "héllo ✓" } });
    const timestamp = nowS();
    const header = await signatureHeader([secret], id, timestamp, body);
    expect(header).toMatch(ENTRY);

    expect(new Webhook(secret).verify(body, headersFor(id, timestamp, header))).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(`${body} `, headersFor(id, timestamp, header))).toThrow(/No matching signature/);
    expect(() => new Webhook(newWebhookSecret()).verify(body, headersFor(id, timestamp, header))).toThrow(/No matching signature/);
    expect(() => new Webhook(secret).verify(body, headersFor("evt_other", timestamp, header))).toThrow(/No matching signature/);
  });

  it("with two secrets, carry two space-separated entries, newest first, each verifiable with its own secret", async () => {
    const [current, previous] = [newWebhookSecret(), newWebhookSecret()];
    const id = "evt_01JD0000000000000000000001";
    const body = '{"id":"evt_01JD0000000000000000000001","object":"event"}';
    const timestamp = nowS();
    const header = await signatureHeader([current, previous], id, timestamp, body);
    const entries = header.split(" ");
    expect(entries).toHaveLength(2);
    for (const entry of entries) expect(entry).toMatch(ENTRY);
    expect(entries[0]).toBe(await signV1(current, id, timestamp, body));
    expect(entries[1]).toBe(await signV1(previous, id, timestamp, body));

    const verifies = (secret: string, signature: string) => {
      try {
        new Webhook(secret).verify(body, headersFor(id, timestamp, signature));
        return true;
      } catch {
        return false;
      }
    };
    expect([verifies(current, entries[0] ?? ""), verifies(previous, entries[0] ?? "")]).toEqual([true, false]);
    expect([verifies(current, entries[1] ?? ""), verifies(previous, entries[1] ?? "")]).toEqual([false, true]);
    // A receiver holding either secret accepts the whole header; a third secret does not.
    expect([verifies(current, header), verifies(previous, header), verifies(newWebhookSecret(), header)]).toEqual([true, true, false]);
  });

  it("newWebhookSecret() is whsec_ and 32 random bytes in base64", () => {
    const secrets = Array.from({ length: 20 }, () => newWebhookSecret());
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(decodedLength(secret)).toBe(32);
    }
    expect(new Set(secrets).size).toBe(secrets.length);
  });
});

const INTERNAL = /must not point at a loopback, private, link-local or internal address/;

describe("webhookUrlProblem (strict: the default)", () => {
  it.each([
    ["https://127.0.0.1/x", "loopback"],
    ["https://127.1/", "loopback, short form"],
    ["https://0x7f.1/", "loopback, hex form"],
    ["https://2130706433/", "loopback, one number"],
    ["https://0.0.0.0/", "this network"],
    ["https://10.0.0.1/", "private 10/8"],
    ["https://172.16.0.1/", "private 172.16/12, low end"],
    ["https://172.31.255.254/", "private 172.16/12, high end"],
    ["https://192.168.1.1/", "private 192.168/16"],
    ["https://169.254.169.254/latest/meta-data", "link-local, cloud metadata"],
    ["https://100.64.0.1/", "carrier-grade NAT, low end"],
    ["https://100.127.255.254/", "carrier-grade NAT, high end"],
    ["https://198.18.0.1/", "benchmarking"],
    ["https://224.0.0.1/", "multicast"],
    ["https://255.255.255.255/", "broadcast"],
    ["https://[::1]/", "IPv6 loopback"],
    ["https://[0:0:0:0:0:0:0:1]/", "IPv6 loopback, long form"],
    ["https://[::]/", "IPv6 unspecified"],
    ["https://[fe80::1]/", "IPv6 link-local"],
    ["https://[fc00::1]/", "IPv6 unique local fc00::/7"],
    ["https://[fd12:3456::1]/", "IPv6 unique local, fd"],
    ["https://[ff02::1]/", "IPv6 multicast"],
    ["https://[::ffff:127.0.0.1]/", "IPv4-mapped loopback"],
    ["https://[::ffff:10.0.0.1]/", "IPv4-mapped private"],
    ["https://[::ffff:169.254.169.254]/", "IPv4-mapped metadata"],
    ["https://[::127.0.0.1]/", "IPv4-compatible loopback"],
    ["https://[64:ff9b::7f00:1]/", "NAT64 loopback"],
    ["https://[2002:7f00:1::]/", "6to4 loopback"],
    ["https://localhost/x", "localhost"],
    ["https://LOCALHOST./x", "localhost, upper case with a trailing dot"],
    ["https://api.localhost/", "a localhost subdomain"],
    ["https://foo.internal/", ".internal"],
    ["https://printer.local/", ".local"],
    ["https://nas.home.arpa/", ".home.arpa"],
  ])("refuses %s (%s) as internal", (url) => {
    expect(webhookUrlProblem(url, false)).toMatch(INTERNAL);
  });

  it.each([
    ["http://example.com/hook", /must be an https: URL/],
    ["ftp://example.com/hook", /must be an https: URL/],
    ["wss://example.com/hook", /must be an https: URL/],
    ["https://user:pw@example.com/", /must not carry credentials/],
    ["https://user@example.com/", /must not carry credentials/],
    ["not-a-url", /must be an absolute https: URL/],
    ["/relative/path", /must be an absolute https: URL/],
    ["https://intranet/hook", /must name a public host/],
    ["https://EXAMPLE.com./hook", /must not end its host name with a dot/],
  ])("refuses %s", (url, message) => {
    expect(webhookUrlProblem(url, false)).toMatch(message);
  });

  it.each([
    "https://hooks.example.com/x",
    "https://example.com:8443/webhooks/avatar?source=api#frag",
    "https://8.8.8.8/hook",
    "https://172.32.0.1/",
    "https://172.15.255.255/",
    "https://100.128.0.1/",
    "https://192.169.0.1/",
    "https://localhost.example.com/",
    "https://internal.example.com/",
    "https://[2606:4700:4700::1111]/hook",
    "https://[::ffff:8.8.8.8]/",
    "https://[2002:808:808::]/",
  ])("accepts %s", (url) => {
    expect(webhookUrlProblem(url, false)).toBeUndefined();
  });
});

describe("webhookUrlProblem (allowInsecure: local development only)", () => {
  it.each(["http://127.0.0.1:8788/hook", "http://localhost:8788/hook", "https://10.0.0.1/", "http://[::1]:8080/", "https://hooks.example.com/x"])(
    "accepts %s",
    (url) => {
      expect(webhookUrlProblem(url, true)).toBeUndefined();
      // …all of which strict mode refuses unless public https.
      if (!url.startsWith("https://hooks.")) expect(webhookUrlProblem(url, false)).toBeDefined();
    },
  );

  it.each([
    ["http://user:pw@127.0.0.1:8788/hook", /must not carry credentials/],
    ["ftp://127.0.0.1/hook", /must be an https: URL/],
    ["file:///etc/passwd", /must be an https: URL/],
    ["javascript:alert(1)", /must be an https: URL/],
    ["not-a-url", /must be an absolute https: URL/],
  ])("still refuses %s", (url, message) => {
    expect(webhookUrlProblem(url, true)).toMatch(message);
  });
});
