/**
 * The speaker's ServiceAnnouncement objects (docs/speaker.md, "ServiceAnnouncement
 * objects"): a pure schedule that decides which Service's object to write and when
 * (coalesced, one write per Service per second, a global budget, takeovers first),
 * and the writer that applies each speaker's own entries server-side.
 *
 *   const writer = new AnnouncementWriter({ kube, clock, node: 'node-3' });
 *   writer.start();
 *   writer.update(desiredOfThisNode); // after every election; unchanged Services cost nothing
 *   await writer.stop();
 */
export {
  BURST,
  CONCURRENCY,
  FIELD_MANAGER_PREFIX,
  MAX_RETRY_MS,
  MIN_INTERVAL_MS,
  RETRY_MS,
  speakerManager,
  WRITES_PER_SECOND,
} from './constants.ts';
export {
  classify,
  normalise,
  serviceKey,
  type AnnouncementEntry,
  type DesiredAnnouncement,
  type ServiceRef,
  type WriteKind,
} from './entries.ts';
export {
  AnnouncementSchedule,
  type Next,
  type PlannedWrite,
  type ScheduleInit,
  type WriteOutcome,
} from './schedule.ts';
export { AnnouncementWriter, type AnnouncementWriterInit, type WriterStats } from './writer.ts';
