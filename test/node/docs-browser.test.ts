import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

/**
 * /docs in a real browser (Debian's chromium, driven by playwright-core): the page under its own
 * Content-Security-Policy, and Swagger UI's "Try it out" on binary answers (src/routes/docs/swagger-init.js).
 */

const CHROMIUM = "/usr/bin/chromium";
const KEY = "av_test_demo00000000000000000000000000000000";
const api = new URL(inject("apiUrl"));
const origin = api.origin;
// Generous: Swagger UI renders some sixty operations, slow on a busy two-core CI machine.
const WAIT = 30_000;
const TEST = 60_000;

let profile: string;
let context: BrowserContext;
let page: Page;
/** CSP violations, from the page's `securitypolicyviolation` events and Chromium's console. */
const violations: string[] = [];
/** 4xx/5xx answers, requests to any other origin, uncaught errors and console errors. */
const problems: string[] = [];
/** Requests that failed, by URL. */
const failed = new Map<string, string>();
/**
 * Aborts that are not failures: a blob: URL downloaded (Chromium reports the navigation as aborted
 * when it becomes a download), and media already answered (its loader cancels the rest of a range
 * once it has buffered what it wants).
 */
const expectedAborts = new Set<string>();

function expectClean() {
  expect(violations).toEqual([]);
  expect(problems).toEqual([]);
  expect([...failed].filter(([url, how]) => !(expectedAborts.has(url) && how.endsWith("net::ERR_ABORTED")))).toEqual([]);
}

beforeAll(async () => {
  profile = mkdtempSync(join(tmpdir(), "docs-browser-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  await context.exposeBinding("reportCspViolation", (_source, text: string) => void violations.push(text));
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as unknown as { reportCspViolation: (text: string) => void }).reportCspViolation(`${e.effectiveDirective} ${e.blockedURI}`);
    });
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(WAIT);
  page.on("console", (m) => {
    if (/content security policy/i.test(m.text())) violations.push(m.text());
    else if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    if (!/^(blob|data):/.test(r.url()) && new URL(r.url()).origin !== origin) problems.push(`elsewhere: ${r.method()} ${r.url()}`);
  });
  page.on("requestfailed", (r) => void failed.set(r.url(), `${r.method()} ${r.failure()?.errorText}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${r.status()}: ${r.request().method()} ${r.url()}`);
    else if (r.request().resourceType() === "media") expectedAborts.add(r.url());
  });
}, TEST);

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Expands an operation and turns on "Try it out". */
async function tryItOut(method: string, path: string): Promise<Locator> {
  const op = page.locator(`.opblock-${method}`).filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) });
  await op.locator(".opblock-summary-control").click();
  await op.locator("button.try-out__btn").click();
  return op;
}

/** Clicks Execute and waits for the new answer's status. */
async function execute(op: Locator): Promise<string> {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().resourceType() === "fetch" && r.url().startsWith(origin)),
    op.locator("button.execute").click(),
  ]);
  await res.finished();
  const status = op.locator(".live-responses-table tr.response .response-col_status");
  await expect.poll(() => status.textContent(), { timeout: WAIT }).toMatch(/^\d{3}/);
  return (await status.textContent()) ?? "";
}

/** Waits until the <audio> of the answer plays a new blob: URL and its media loads (metadata decoded). */
async function loadedAudio(op: Locator, previous?: string) {
  const audio = op.locator(".live-responses-table audio");
  await expect.poll(async () => ((await audio.count()) === 1 ? await audio.getAttribute("src") : null), { timeout: WAIT }).toMatch(/^blob:/);
  const src = (await audio.getAttribute("src")) ?? "";
  expect(src).not.toBe(previous);
  const media = await audio.evaluate(
    (a: HTMLAudioElement) =>
      new Promise<{ readyState: number; duration: number; error: number | null }>((resolve) => {
        const done = () => resolve({ readyState: a.readyState, duration: a.duration, error: a.error?.code ?? null });
        if (a.readyState >= 1 || a.error) done();
        a.addEventListener("loadedmetadata", done);
        a.addEventListener("error", done);
      }),
  );
  expect(media.error).toBeNull();
  expect(media.readyState).toBeGreaterThanOrEqual(1);
  expect(media.duration).toBeGreaterThan(0);
  return { src, duration: media.duration };
}

/** Clicks a download control and answers the file's suggested name and bytes. */
async function download(control: Locator) {
  const [file] = await Promise.all([page.waitForEvent("download"), control.click()]);
  expectedAborts.add(file.url());
  return { name: file.suggestedFilename(), bytes: readFileSync(await file.path()) };
}

describe("/docs in Chromium", () => {
  it("loads under its Content-Security-Policy: no violation, nothing from elsewhere, no failed request", { timeout: TEST }, async () => {
    const res = await page.goto(`${origin}/docs`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-security-policy"]).toContain("media-src blob:");
    await page.locator(".opblock").first().waitFor();
    await page.waitForLoadState("networkidle");
    expect(await page.locator(".opblock").count()).toBeGreaterThan(20);
    expectClean();
  });

  it("authorises with an API key through the Authorize dialog", { timeout: TEST }, async () => {
    await page.locator(".auth-wrapper button.authorize").click();
    const dialog = page.locator(".modal-ux");
    const apiKey = dialog.locator(".auth-container").filter({ has: page.locator("h4 code", { hasText: /^apiKey$/ }) });
    await apiKey.locator("input").fill(KEY);
    await apiKey.getByRole("button", { name: "Apply credentials" }).click();
    await apiKey.getByRole("button", { name: "Remove authorization" }).waitFor();
    await apiKey.getByRole("button", { name: "Close" }).click();
    await dialog.waitFor({ state: "detached" });
    expect(await page.locator(".auth-wrapper button.authorize.locked").count()).toBe(1);
    expectClean();
  });

  let tts: Locator;
  let lastSrc = "";

  it("POST /v1/tts with the example body plays the WAV it answered and downloads it", { timeout: TEST }, async () => {
    tts = await tryItOut("post", "/v1/tts");
    expect(await execute(tts)).toMatch(/^200/);
    const audio = await loadedAudio(tts);
    lastSrc = audio.src;
    const link = tts.locator(".live-responses-table a[download]");
    expect(await link.getAttribute("href")).toMatch(/^blob:/);
    const file = await download(link);
    expect(file.name).toBe("tts.wav");
    expect(file.bytes.subarray(0, 4).toString("latin1")).toBe("RIFF");
    expect(file.bytes.subarray(8, 12).toString("latin1")).toBe("WAVE");
    expectClean();
  });

  it("raw PCM plays too (a WAV header for the player), and downloads as answered", { timeout: TEST }, async () => {
    await tts.locator("textarea.body-param__text").fill(JSON.stringify({ text: "Hello from the docs.", voice_id: "mock:warm", format: "pcm_16000" }));
    expect(await execute(tts)).toMatch(/^200/);
    const audio = await loadedAudio(tts, lastSrc);
    lastSrc = audio.src;
    const file = await download(tts.locator(".live-responses-table a[download]"));
    expect(file.name).toBe("tts.pcm");
    expect(file.bytes.subarray(0, 4).toString("latin1")).not.toBe("RIFF");
    // PCM16 mono at 16 kHz: the player's duration is the bytes' own.
    expect(audio.duration).toBeCloseTo(file.bytes.length / 2 / 16_000, 2);
    expectClean();
  });

  it("NDJSON (timestamps) is shown as answered and downloads as .ndjson", { timeout: TEST }, async () => {
    await tts.locator("textarea.body-param__text").fill(JSON.stringify({ text: "Hello from the docs.", voice_id: "mock:warm", timestamps: true }));
    expect(await execute(tts)).toMatch(/^200/);
    const body = tts.locator(".live-responses-table .highlight-code");
    await expect.poll(() => body.textContent(), { timeout: WAIT }).toContain('"alignment"');
    expect(await tts.locator(".live-responses-table").textContent()).not.toContain("can't parse JSON");
    expect(await tts.locator(".live-responses-table audio").count()).toBe(0);
    const file = await download(body.locator("button.download-contents"));
    expect(file.name).toBe("tts.ndjson");
    const lines = file.bytes.toString("utf8").trim().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(Object.keys(JSON.parse(line))).toEqual(expect.arrayContaining(["audio", "alignment"]));
    expectClean();
  });

  it("a model file (application/octet-stream) downloads byte for byte", { timeout: TEST }, async () => {
    const avatar = "av_gaussian_mira_studio";
    const model = (await (await fetch(new URL(`/v1/avatars/${avatar}/model`, api), { headers: { Authorization: `Bearer ${KEY}` } })).json()) as { url: string };
    const signed = new URL(model.url);
    const op = await tryItOut("get", "/v1/avatars/{avatar_id}/model/file");
    await op.locator('tr[data-param-name="avatar_id"] input').fill(avatar);
    await op.locator('tr[data-param-name="expires"] input').fill(signed.searchParams.get("expires") ?? "");
    await op.locator('tr[data-param-name="signature"] input').fill(signed.searchParams.get("signature") ?? "");
    // Try it out fills the optional Range header with its example (bytes=0-1023): the whole file here.
    const range = op.locator('tr[data-param-name="range"] input');
    if ((await range.count()) > 0) await range.fill("");
    expect(await execute(op)).toMatch(/^200/);
    const link = op.locator(".live-responses-table a[download]");
    await link.waitFor();
    expect(await link.getAttribute("href")).toMatch(/^blob:/);
    const file = await download(link);
    expect(file.name).toBe(`avatars-${avatar}-model-file.bin`);
    expect(file.bytes.equals(readFileSync(new URL(`../../migrations/seed/models/${avatar}.splat`, import.meta.url)))).toBe(true);
    expectClean();
  });
});
