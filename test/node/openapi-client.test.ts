import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, inject, it } from "vitest";
import { ROOT } from "../../src/cli/seed.mjs";

/**
 * What an integrating developer does with the document: `openapi-typescript` (default options)
 * generates types from /v1/openapi.json, and test/sdk/program/main.ts — creates a conversation,
 * sends a message, lists avatars, synthesises speech — must compile with `openapi-fetch` under
 * TypeScript 5 `strict` without a cast, then run against the API and get what the types promised.
 * The generator and TypeScript 5 live in the test/sdk workspace: the generator needs TypeScript's
 * JS API, which the project's TypeScript 7 does not have.
 */
const run = promisify(execFile);
const SDK = join(ROOT, "test/sdk");
const bin = (name: string) => join(SDK, "node_modules/.bin", name);
const apiUrl = inject("apiUrl");
const KEY = "av_test_demo00000000000000000000000000000000";

mkdirSync(join(SDK, ".out"), { recursive: true });
const dir = mkdtempSync(join(SDK, ".out/client-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a client generated from /v1/openapi.json (openapi-typescript + openapi-fetch)", () => {
  it("generates with the default options, compiles strict without casts, and runs as typed", async () => {
    const doc = await fetch(`${apiUrl}/v1/openapi.json`);
    expect(doc.status).toBe(200);
    writeFileSync(join(dir, "openapi.json"), await doc.text());
    await run(bin("openapi-typescript"), [join(dir, "openapi.json"), "-o", join(dir, "api.d.ts")], { cwd: dir });

    copyFileSync(join(SDK, "program/main.ts"), join(dir, "main.ts"));
    const tsconfig = JSON.parse(readFileSync(join(SDK, "program/tsconfig.json"), "utf8"));
    // The same options, emitting JavaScript this time so the program can run.
    tsconfig.compilerOptions = { ...tsconfig.compilerOptions, noEmit: false, outDir: ".", typeRoots: [join(ROOT, "node_modules/@types")] };
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(tsconfig));
    const compiled = await run(bin("tsc"), ["-p", dir], { cwd: dir }).then(
      () => "",
      (err: { stdout: string }) => err.stdout,
    );
    expect(compiled, "TypeScript 5 errors in the generated client program").toBe("");

    const { stdout } = await run(process.execPath, [join(dir, "main.js")], { cwd: dir, env: { ...process.env, API_URL: apiUrl, API_KEY: KEY } });
    const out = JSON.parse(stdout) as {
      avatarIds: string[];
      conversationId: string;
      websocketUrl: string;
      status: string;
      reply: string | null;
      interrupted: null;
      audioBytes: number;
    };
    expect(out.avatarIds.length).toBeGreaterThan(0);
    for (const id of out.avatarIds) expect(id).toMatch(/^av_/);
    expect(out.conversationId).toMatch(/^conv_/);
    expect(out.websocketUrl).toMatch(/^ws:\/\/.*\/v1\/conversations\/conv_.*\/ws$/);
    expect(out.status).toBe("completed");
    expect(out.reply?.length).toBeGreaterThan(0);
    expect(out.audioBytes).toBeGreaterThan(44); // a WAV header and then samples
  }, 120_000);
});
