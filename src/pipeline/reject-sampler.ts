// Keeps a bounded sample of rejects per reason per minute, so a garbage storm is counted in full
// but cannot flood InfluxDB with dead letters.
export class RejectSampler {
  private minute = -1;
  private kept = new Map<string, number>();

  constructor(private readonly perMinute: number) {}

  keep(reason: string, now: number): boolean {
    const minute = Math.floor(now / 60_000);
    if (minute !== this.minute) {
      this.minute = minute;
      this.kept.clear();
    }
    const count = this.kept.get(reason) ?? 0;
    if (count >= this.perMinute) return false;
    this.kept.set(reason, count + 1);
    return true;
  }
}
