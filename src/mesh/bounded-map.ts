/**
 * A Map that holds at most `max` entries: setting a key moves it to the
 * newest end, and a set beyond the bound evicts the oldest. For what the
 * mesh keeps per node name heard from the network, so that names invented
 * by a (keyed) sender cannot grow memory without bound, and a flood of them
 * only pushes out the oldest entries, never resets everyone's.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  readonly max: number;

  constructor(max: number) {
    super();
    this.max = max;
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.size > this.max) {
      const oldest = this.keys().next();
      if (oldest.done !== true) super.delete(oldest.value);
    }
    return this;
  }
}
