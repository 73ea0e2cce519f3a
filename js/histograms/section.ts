// Placeholder for the histogram panels (the watch work replaces this file): it keeps what
// it receives so nothing is lost, and draws nothing yet.

export interface HistogramMessage {
  type: "histograms";
  entries: { key: string; step: number; lo: number; hi: number }[];
}

export class HistogramSection {
  readonly received: { content: HistogramMessage; buffers: DataView[] }[] = [];

  constructor(readonly el: HTMLElement) {}

  push(content: HistogramMessage, buffers: DataView[]): void {
    this.received.push({ content, buffers });
  }

  destroy(): void {}
}
