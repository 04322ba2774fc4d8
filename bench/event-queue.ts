/** The events of a discrete-event simulation, taken in time order (a binary heap; ties in insertion order). */
export class EventQueue<E> {
  readonly #times: number[] = [];
  readonly #order: number[] = [];
  readonly #events: E[] = [];
  #inserted = 0;

  get size(): number {
    return this.#events.length;
  }

  push(at: number, event: E): void {
    this.#times.push(at);
    this.#order.push(this.#inserted++);
    this.#events.push(event);
    this.#up(this.#events.length - 1);
  }

  /** The earliest event and its time; undefined when none is left. */
  pop(): { at: number; event: E } | undefined {
    if (this.#events.length === 0) return undefined;
    const top = { at: this.#times[0]!, event: this.#events[0]! };
    const last = this.#events.length - 1;
    this.#swap(0, last);
    this.#times.pop();
    this.#order.pop();
    this.#events.pop();
    this.#down(0);
    return top;
  }

  #before(a: number, b: number): boolean {
    return (
      this.#times[a]! < this.#times[b]! || (this.#times[a] === this.#times[b] && this.#order[a]! < this.#order[b]!)
    );
  }

  #swap(a: number, b: number): void {
    const [times, order, events] = [this.#times, this.#order, this.#events];
    const [time, rank, event] = [times[a]!, order[a]!, events[a]!];
    times[a] = times[b]!;
    order[a] = order[b]!;
    events[a] = events[b]!;
    times[b] = time;
    order[b] = rank;
    events[b] = event;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#events.length;
    for (;;) {
      const [l, r] = [2 * i + 1, 2 * i + 2];
      let first = i;
      if (l < n && this.#before(l, first)) first = l;
      if (r < n && this.#before(r, first)) first = r;
      if (first === i) return;
      this.#swap(i, first);
      i = first;
    }
  }
}
