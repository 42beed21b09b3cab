// A short tone for a scan the till could not use, so the cashier looks up from the scanner.
// Made with WebAudio: no sound file to ship or load.

let context: AudioContext | null = null;

/** Plays a 150 ms beep; does nothing where the webview has no audio. */
export function beep(): void {
  if (typeof AudioContext === "undefined") return;
  context ??= new AudioContext();
  const tone = context.createOscillator();
  const volume = context.createGain();
  tone.type = "square";
  tone.frequency.value = 880;
  volume.gain.value = 0.08;
  tone.connect(volume).connect(context.destination);
  tone.start();
  tone.stop(context.currentTime + 0.15);
}
