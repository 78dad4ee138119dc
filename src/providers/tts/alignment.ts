/**
 * When each character is spoken, relative to the start of the chunk of audio it travels with (so
 * a client can move the avatar's mouth as it plays that chunk). `chars.join("")` is the text.
 */
export interface Alignment {
  chars: string[];
  start_ms: number[];
  duration_ms: number[];
}
