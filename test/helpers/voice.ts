import { Resampler } from "../../src/providers/tts/audio";
import { MOCK_SAMPLE_RATE, mockVoice, synthesize } from "../../src/providers/tts/mock-speech";
import { bytesToPcm16, pcm16ToBytes } from "../../src/providers/tts/wav";
import type { Socket } from "./ws";

/**
 * A user's voice for tests, made offline: the mock voices speak text that the mock speech-to-text
 * reads back, resampled to the conversation's input rate and cut into microphone-sized frames.
 */

export const INPUT_RATE = 16_000;
/** What a browser's AudioWorklet posts every 20 ms. */
export const FRAME_MS = 20;

/** `text` spoken by a mock voice, as PCM16 at `rate`. */
export function speech(text: string, { voice = "warm", rate = INPUT_RATE }: { voice?: string; rate?: number } = {}): Int16Array {
  const mock = mockVoice(voice);
  if (!mock) throw new Error(`no mock voice ${voice}`);
  const parts: Int16Array[] = [];
  for (const chunk of synthesize(text, mock)) parts.push(chunk.pcm);
  const whole = concatPcm(parts);
  if (rate === MOCK_SAMPLE_RATE) return whole;
  const resampler = new Resampler(MOCK_SAMPLE_RATE, rate);
  return concatPcm([bytesToPcm16(resampler.push(pcm16ToBytes(whole))), bytesToPcm16(resampler.flush())]);
}

export const silence = (ms: number, rate = INPUT_RATE): Int16Array => new Int16Array(Math.round((ms * rate) / 1000));

/** A steady tone (a hum, or a "voice" when loud), `amplitude` of full scale. */
export function tone(ms: number, amplitude: number, { hz = 220, rate = INPUT_RATE }: { hz?: number; rate?: number } = {}): Int16Array {
  const out = new Int16Array(Math.round((ms * rate) / 1000));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * amplitude * 32767);
  return out;
}

export function concatPcm(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** `audio` cut into frames of `frameMs`. */
export function framesOf(audio: Int16Array, { frameMs = FRAME_MS, rate = INPUT_RATE }: { frameMs?: number; rate?: number } = {}): Int16Array[] {
  const size = Math.round((frameMs * rate) / 1000);
  const frames: Int16Array[] = [];
  for (let at = 0; at < audio.length; at += size) frames.push(audio.slice(at, at + size));
  return frames;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What `stream` sends by default in the Workers pool: half a second a frame, in real time. The
 * pool's in-process sockets deliver frames that queue up behind a busy object in reverse order (see
 * the README's Tests section); a frame every 500 ms rarely finds one queued behind it, where 20 ms
 * frames on a loaded machine often did and garbled the speech. The object takes any frame size (its
 * VAD reads 10 ms windows), and the voice loop also runs in 20 ms frames over a real socket in the
 * node project (conversation-sockets).
 */
export const POOL_FRAME_MS = 500;

/**
 * Sends `audio` as binary frames, `speedup` times faster than real time (the socket's budget is
 * 1.5× with a 10 s burst, so tests stay inside it), and resolves when the last frame is sent.
 */
export async function stream(socket: Socket, audio: Int16Array, { frameMs = POOL_FRAME_MS, rate = INPUT_RATE, speedup = 1 } = {}): Promise<void> {
  const frames = framesOf(audio, { frameMs, rate });
  const start = Date.now();
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i] as Int16Array;
    // The server may have closed the socket meanwhile (the conversation ended): the user stops talking.
    if (socket.closed) return;
    try {
      socket.send(pcm16ToBytes(frame));
    } catch {
      return;
    }
    // Frames go out on schedule: the test's clock runs `speedup` times the audio's.
    const due = start + ((i + 1) * frameMs) / speedup;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
  }
}
