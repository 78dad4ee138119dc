import { concat } from "../../lib/bytes";
import { ApiError, quote } from "../../lib/errors";
import { CallerGone } from "../upstream";
import { contentTypeOf, Resampler } from "./audio";
import { MOCK_SAMPLE_RATE, mockVoice, planSpeech, synthesize } from "./mock-speech";
import type { AudioFormat, SpeechChunk, SpeechRequest, TtsProvider } from "./types";
import { VOICES } from "./voices";
import { pcm16ToBytes, wavHeader } from "./wav";

/**
 * The built-in speech provider: real, playable, speech-like audio made in the Worker (see
 * mock-speech.ts), so everything works offline and in tests. No mp3: an encoder is not worth its
 * weight in the bundle for a mock, and every other format is exact.
 */

/** 200 ms of audio per chunk: small enough to start playing at once, large enough to stay cheap. */
const CHUNK_MS = 200;

async function* chunks(request: SpeechRequest, signal: AbortSignal): AsyncGenerator<SpeechChunk> {
  const voice = mockVoice(request.voice);
  if (!voice) throw new ApiError("voice.unknown", `No voice ${quote(`mock:${request.voice}`)}.`, { param: "voice_id" });
  const speed = request.speed ?? 1;
  const resampler = request.format === "pcm_16000" ? new Resampler(MOCK_SAMPLE_RATE, 16_000) : undefined;
  let header: Uint8Array | undefined;
  if (request.format === "wav") {
    // The whole length is known before a sample is made, so the header is exact (not a streaming one).
    const plan = planSpeech(request.text, voice, { speed });
    header = wavHeader({ sampleRate: MOCK_SAMPLE_RATE, dataBytes: plan.totalSamples * 2 });
  }
  // With a resampler, each chunk is held until the next is made, so the resampler's last few
  // samples join the last chunk instead of going out as a frame of their own (20 bytes, no
  // timings). Without one there is no tail, and a chunk goes as soon as it is made: holding it
  // would put the next chunk's rendering in front of the first audio.
  let held: SpeechChunk | undefined;
  for (const chunk of synthesize(request.text, voice, { speed, chunkMs: CHUNK_MS })) {
    if (signal.aborted) throw new CallerGone();
    let audio = resampler ? resampler.push(pcm16ToBytes(chunk.pcm)) : pcm16ToBytes(chunk.pcm);
    if (header) {
      audio = concat(header, audio);
      header = undefined;
    }
    const made = { audio, alignment: request.timestamps ? chunk.alignment : null };
    if (!resampler) {
      yield made;
      continue;
    }
    if (held) yield held;
    held = made;
  }
  const tail = resampler?.flush();
  if (held) yield tail && tail.length > 0 ? { ...held, audio: concat(held.audio, tail) } : held;
  else if (header) yield { audio: header, alignment: null };
  else if (tail && tail.length > 0) yield { audio: tail, alignment: null };
}

const FORMATS: readonly AudioFormat[] = ["wav", "pcm_16000", "pcm_24000"];

export const mock: TtsProvider = {
  id: "mock",
  name: "Mock (built in)",
  formats: FORMATS,
  timings: true,
  voices: VOICES.filter((v) => v.provider === "mock"),
  configured: () => true,
  async synthesize(request, ctx) {
    return { contentType: contentTypeOf(request.format), chunks: chunks(request, ctx.signal) };
  },
};
