/**
 * The coordinator's book of what origins said of themselves (`drain`, `ready`, `weight=<n>%`; the
 * rules are core/control/origin-control.ts): it takes isolates' reports, gives way to a configuration that
 * changes an origin, and says what is in force given the origins' health records. Its entries live in
 * the coordinator's memory (`controls`) and storage (monitor-storage.ts); the coordinator writes them.
 */
import { validateConfigText } from '../../config/config-source';
import type { Config } from '../../core/config/config-schema';
import {
  applyControlReport,
  controlsAfterConfigChange,
  controlsInForce,
  type ControlReport,
  type ControlsInForce,
  type OriginControls,
} from '../../core/control/origin-control';
import type { LastGoodConfig } from '../monitor-protocol';
import type { HealthRecords } from '../monitor-storage';

export class OriginControlBook {
  constructor(
    private readonly memory: { controls: OriginControls },
    /** Every origin's health record, for when it last recovered (what it said before is void). */
    private readonly records: () => HealthRecords,
  ) {}

  /** Reports about origins `configured` knows; returns the book to store. */
  take(reports: readonly ControlReport[], configured: (originId: string) => boolean): OriginControls {
    const { controls } = this.memory;
    for (const report of reports.filter((r) => configured(r.originId))) {
      const recoveredAt = this.records()[report.originId]?.recoveredAt;
      controls[report.originId] = applyControlReport(controls[report.originId], report, recoveredAt);
    }
    return controls;
  }

  /** What survives a new configuration, given the one adopted before (its stored text). */
  afterConfig(before: LastGoodConfig | undefined, config: Config): OriginControls {
    const previous = before && validateConfigText(before.text);
    const kept = controlsAfterConfigChange(this.memory.controls, previous?.ok ? previous.config : undefined, config);
    return (this.memory.controls = kept);
  }

  inForce(): ControlsInForce {
    const records = this.records();
    return controlsInForce(this.memory.controls, (id) => records[id]?.recoveredAt);
  }
}
