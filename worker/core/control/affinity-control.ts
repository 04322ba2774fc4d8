/**
 * The `Affinity-Control` response header: how an origin steers its sessions and itself, in the spirit
 * of HAProxy's agent-check (`drain`, `ready`, `<n>%`) and Fly's `fly-replay`. Pure: the header's text in,
 * the directives it holds and the ones it does not, each with why, out. Never throws.
 *
 *     Affinity-Control = #directive                   ; RFC 9110 §5.6.1 list: commas, optional whitespace
 *     directive = "release" / "drain" / "ready"
 *               / ( "repin" / "replay" ) "=" origin-id  ; as configured, optionally in double quotes
 *               / "weight" "=" 1*3DIGIT "%"           ; a whole percentage, 0 to 100
 *
 * Directive names are case-insensitive. An origin id is matched exactly, because ids are: two origins
 * may differ in case only. Whole percentages only, as HAProxy's agent-check takes them: the configured
 * weight (any number up to 1000) already gives fine steps, and `1e2%` or `.5%` stay malformed.
 *
 * A header the origin repeats reaches the worker combined into one list (RFC 9110 §5.3), so the same
 * directive twice is dropped quietly; two different ones of a kind (a second session directive,
 * `ready` after `drain`, a second weight) cannot both hold: the first wins and the others are ignored.
 */
import { ORIGIN_ID_PATTERN } from '../config/config-schema';

export const AFFINITY_CONTROL_HEADER = 'affinity-control';

/** What happens to the session of the request: at most one of these per response. */
export type SessionDirective = { kind: 'release' } | { kind: 'repin' | 'replay'; originId: string };

/** What the answering origin says of itself, fleet-wide: drain (true) or ready (false), and its weight. */
export interface StandingDirectives {
  drain?: boolean;
  /** Percentage of its configured weight, 0 to 100. */
  weightPercent?: number;
}

/** A directive that was not followed: its text (shortened) and why. */
export interface IgnoredDirective {
  directive: string;
  reason: string;
}

export interface ControlDirectives {
  session?: SessionDirective;
  standing: StandingDirectives;
  ignored: IgnoredDirective[];
}

/** More than this many list elements is no origin's honest intent: the rest are ignored. */
export const MAX_DIRECTIVES = 16;
/** How much of an ignored directive's text a log line keeps. */
const LOGGED_CHARS = 64;

const ELEMENT = /^([A-Za-z]+)[ \t]*(?:=[ \t]*(.*))?$/s;
const PERCENT = /^(\d{1,3})%$/;

type Parsed =
  | { ok: true; slot: 'session'; value: SessionDirective }
  | { ok: true; slot: 'drain'; value: boolean }
  | { ok: true; slot: 'weight'; value: number }
  | { ok: false; reason: string };

export function parseAffinityControl(text: string): ControlDirectives {
  const result: ControlDirectives = { standing: {}, ignored: [] };
  const taken: Partial<Record<'session' | 'drain' | 'weight', string>> = {};
  const elements = text
    .split(',')
    .map((element) => element.trim())
    .filter(Boolean); // RFC 9110 §5.6.1: empty list elements are ignored
  elements.forEach((element, position) => {
    const ignore = (reason: string) => result.ignored.push({ directive: element.slice(0, LOGGED_CHARS), reason });
    if (position >= MAX_DIRECTIVES) return ignore(`more than ${MAX_DIRECTIVES} directives`);
    const parsed = parseDirective(element);
    if (!parsed.ok) return ignore(parsed.reason);
    const canonical = directiveText(parsed);
    const earlier = taken[parsed.slot];
    if (earlier === canonical) return; // the same directive again: a repeated header, combined
    if (earlier !== undefined) return ignore(`conflicts with the earlier "${earlier}"`);
    taken[parsed.slot] = canonical;
    take(result, parsed);
  });
  return result;
}

function take(result: ControlDirectives, parsed: Extract<Parsed, { ok: true }>): void {
  if (parsed.slot === 'session') result.session = parsed.value;
  else if (parsed.slot === 'drain') result.standing.drain = parsed.value;
  else result.standing.weightPercent = parsed.value;
}

function parseDirective(element: string): Parsed {
  const match = ELEMENT.exec(element);
  if (!match) return { ok: false, reason: 'not a directive' };
  const name = match[1]!.toLowerCase();
  const value = match[2];
  switch (name) {
    case 'release':
    case 'drain':
    case 'ready':
      if (value !== undefined) return { ok: false, reason: `${name} takes no value` };
      if (name === 'release') return { ok: true, slot: 'session', value: { kind: 'release' } };
      return { ok: true, slot: 'drain', value: name === 'drain' };
    case 'repin':
    case 'replay': {
      const originId = value === undefined ? undefined : unquoted(value);
      if (originId === undefined || !ORIGIN_ID_PATTERN.test(originId)) {
        return { ok: false, reason: `${name} takes an origin id: ${name}=<origin-id>` };
      }
      return { ok: true, slot: 'session', value: { kind: name, originId } };
    }
    case 'weight': {
      const percent = value === undefined ? undefined : PERCENT.exec(value);
      const n = percent ? Number(percent[1]) : Number.NaN;
      if (!(n <= 100)) return { ok: false, reason: 'weight takes a whole percentage from 0% to 100%' };
      return { ok: true, slot: 'weight', value: n };
    }
    default:
      return { ok: false, reason: 'not a directive' };
  }
}

/** `"app-2"` → `app-2`; anything else as it is. */
function unquoted(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** A directive as the decision log writes it: lower case, no whitespace (`repin=app-2`, `weight=50%`). */
function directiveText(parsed: Extract<Parsed, { ok: true }>): string {
  if (parsed.slot === 'drain') return parsed.value ? 'drain' : 'ready';
  if (parsed.slot === 'weight') return `weight=${parsed.value}%`;
  return sessionDirectiveText(parsed.value);
}

export function sessionDirectiveText(directive: SessionDirective): string {
  return directive.kind === 'release' ? 'release' : `${directive.kind}=${directive.originId}`;
}

/** The standing directives as the decision log writes them, in a fixed order. */
export function standingDirectiveTexts(standing: StandingDirectives): string[] {
  const texts: string[] = [];
  if (standing.drain !== undefined) texts.push(standing.drain ? 'drain' : 'ready');
  if (standing.weightPercent !== undefined) texts.push(`weight=${standing.weightPercent}%`);
  return texts;
}
