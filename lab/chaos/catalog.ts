import { CONTROL_SCENARIOS } from './scenarios-control.ts';
import { CORE_SCENARIOS, type Scenario } from './scenarios.ts';

/** Every scenario, in the order where it has one. */
export const SCENARIOS: readonly Scenario[] = [...CORE_SCENARIOS, ...CONTROL_SCENARIOS];
