// Scheduled jobs (node-cron): a stale-sensor sweep every minute, the daily heat-wave assessment
// just after local midnight, demand baselines every hour. No job overlaps itself; each logs what it did.
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../log.js';

export interface Job {
  name: string;
  schedule: string;
  run: () => Promise<string> | string;
}

export function scheduleJobs(jobs: Job[], timezone: string, log: Logger): { stop(): Promise<void> } {
  const tasks: ScheduledTask[] = jobs.map((job) =>
    cron.schedule(
      job.schedule,
      async () => {
        const started = Date.now();
        try {
          const summary = await job.run();
          log.info(`job ${job.name}: ${summary} (${Date.now() - started} ms)`);
        } catch (error) {
          log.error(`job ${job.name} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      },
      { name: job.name, timezone, noOverlap: true },
    ),
  );
  return {
    async stop() {
      await Promise.all(tasks.map((task) => task.destroy()));
    },
  };
}
