/**
 * The user's voice from a browser's microphone: captured with echo cancellation and noise
 * suppression on, brought to 16 kHz PCM16 in 20 ms frames by an AudioWorklet (`mic-worklet.js`,
 * loaded from `workletUrl`), and handed to `onFrame` (usually `connection.sendAudio`). Muting sends
 * silence, so the server's turn detection sees the user stop; push-to-talk is `mute` between presses
 * and `commitAudio()` on release.
 */
export class Microphone {
  private context: AudioContext | undefined;
  private stream: MediaStream | undefined;
  private node: AudioWorkletNode | undefined;
  /** Frames sent so far. */
  frames = 0;

  constructor(private readonly options: { workletUrl: string; onFrame: (pcm: ArrayBuffer) => void }) {}

  async start(): Promise<void> {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 } });
    this.stream = stream;
    this.context = new AudioContext();
    await this.context.audioWorklet.addModule(this.options.workletUrl);
    this.node = new AudioWorkletNode(this.context, "mic-frames");
    this.node.port.onmessage = (e) => {
      this.frames++;
      this.options.onFrame(e.data);
    };
    this.context.createMediaStreamSource(stream).connect(this.node);
  }

  mute(muted: boolean): void {
    this.node?.port.postMessage({ muted });
  }

  get running(): boolean {
    return this.context !== undefined;
  }

  async stop(): Promise<void> {
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.node?.disconnect();
    await this.context?.close();
    this.context = undefined;
    this.node = undefined;
    this.stream = undefined;
  }
}
