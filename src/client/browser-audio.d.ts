// The few browser audio APIs the client's browser parts use. The project compiles against Workers'
// types, not the DOM's (both at once conflict), so these are declared here, as browsers define them.
declare class AudioContext {
  readonly state: "suspended" | "running" | "closed";
  readonly currentTime: number;
  readonly sampleRate: number;
  readonly destination: AudioNodeLike;
  readonly audioWorklet: { addModule(url: string): Promise<void> };
  resume(): Promise<void>;
  close(): Promise<void>;
  createBuffer(channels: number, length: number, sampleRate: number): AudioBuffer;
  createBufferSource(): AudioBufferSourceNode;
  createMediaStreamSource(stream: MediaStream): AudioNodeLike;
}
interface AudioNodeLike {
  connect(destination: AudioNodeLike): void;
  disconnect(): void;
}
interface AudioBuffer {
  readonly duration: number;
  getChannelData(channel: number): Float32Array;
}
interface AudioBufferSourceNode extends AudioNodeLike {
  buffer: AudioBuffer | null;
  onended: (() => void) | null;
  start(when?: number): void;
  stop(when?: number): void;
}
declare class AudioWorkletNode implements AudioNodeLike {
  constructor(context: AudioContext, name: string);
  readonly port: { postMessage(message: unknown): void; onmessage: ((event: { data: ArrayBuffer }) => void) | null };
  connect(destination: AudioNodeLike): void;
  disconnect(): void;
}
interface MediaStream {
  getTracks(): { stop(): void }[];
}
declare const navigator: Navigator & {
  mediaDevices: { getUserMedia(constraints: { audio: boolean | Record<string, unknown> }): Promise<MediaStream> };
};
