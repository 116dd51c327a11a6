/**
 * CPLEX LP text: parseLp reads it into an OptimizationModel, writeLp writes a model as LP text that HiGHS reads.
 *
 * Supported on input: Minimize/Maximize (also min, max, minimise, ...), an optional objective label `obj:`, Subject To
 * (also such that, st, s.t.), constraint labels `c1:`, expressions spread over several lines, `<=`/`=<`/`<`, `>=`/`=>`/`>`,
 * `=`, constants on either side of a row, ranges `lo <= expr <= hi`, Bounds (`x >= l`, `x <= u`, `l <= x <= u`,
 * `x = v`, `x free`, `-inf`, `+inf`, `infinity`; bounds and right-hand sides of magnitude 1e20 or more are infinite), General/Generals/Gen/Integer/Integers, Binary/Binaries/Bin, End, and
 * comments from `\` to the end of the line. Section keywords count only as the first word of a line. Quadratic terms,
 * semi-continuous variables and SOS sections are refused with a ModelParseError.
 */
import { AppError } from '../../core/errors.ts';
import type { ModelConstraint, ModelVariable, OptimizationModel, Term } from './model.ts';
import { asBound, validateModel } from './model.ts';

/** Model text over this many bytes (UTF-8) is refused unless the caller sets another limit. */
export const DEFAULT_MAX_MODEL_BYTES = 10 * 1024 * 1024;

/** The model text is malformed; `line` is the 1-based line of the problem, `message` starts with "line N:". */
export class ModelParseError extends AppError {
  readonly code = 'MODEL_PARSE_ERROR';
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`line ${line}: ${detail}`);
    this.name = 'ModelParseError';
  }
}

/** The model text is larger than the configured limit (`bytes` > `limit`). */
export class ModelTooLargeError extends AppError {
  readonly code = 'MODEL_TOO_LARGE';
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`the model text has ${bytes} bytes, more than the limit of ${limit}`);
    this.name = 'ModelTooLargeError';
  }
}

export interface ParseOptions {
  /** Refuse text over this many UTF-8 bytes (default DEFAULT_MAX_MODEL_BYTES). */
  maxBytes?: number;
}

/** Throws ModelTooLargeError when `text` has more than `maxBytes` UTF-8 bytes. */
export function checkTextSize(text: string, maxBytes = DEFAULT_MAX_MODEL_BYTES): void {
  if (text.length * 3 <= maxBytes) return; // a UTF-16 code unit is at most 3 UTF-8 bytes
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw new ModelTooLargeError(bytes, maxBytes);
}

type Tok =
  | { t: 'num'; v: number; line: number; first: boolean }
  | { t: 'name'; v: string; line: number; first: boolean }
  | { t: 'op'; v: '<=' | '>=' | '='; line: number; first: boolean }
  | { t: 'sign'; v: 1 | -1; line: number; first: boolean }
  | { t: 'colon'; line: number; first: boolean };

const NAME_START = /[A-Za-z_!"#$%&(),;?@'{}|~`/]/;
const NAME_CHAR = /[A-Za-z0-9_!"#$%&(),;?@'{}|~`/.]/;
const NUMBER = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;

function tokenize(text: string): Tok[] {
  const toks: Tok[] = [];
  let line = 1;
  let first = true;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      line++;
      first = true;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '\\') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if ((c >= '0' && c <= '9') || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = NUMBER.exec(text.slice(i, i + 64));
      if (!m) throw new ModelParseError(line, `bad number near ${JSON.stringify(text.slice(i, i + 20))}`);
      toks.push({ t: 'num', v: Number(m[0]), line, first });
      i += m[0].length;
    } else if (c === '<' || c === '>' || c === '=') {
      const two = text.slice(i, i + 2);
      let v: '<=' | '>=' | '=';
      if (two === '<=' || two === '=<') v = '<=';
      else if (two === '>=' || two === '=>') v = '>=';
      else v = c === '<' ? '<=' : c === '>' ? '>=' : '=';
      const len = two === '<=' || two === '=<' || two === '>=' || two === '=>' ? 2 : 1;
      toks.push({ t: 'op', v, line, first });
      i += len;
    } else if (c === '+' || c === '-') {
      toks.push({ t: 'sign', v: c === '+' ? 1 : -1, line, first });
      i++;
    } else if (c === ':') {
      toks.push({ t: 'colon', line, first });
      i++;
    } else if (c === '[' || c === ']' || c === '^' || c === '*') {
      throw new ModelParseError(line, 'quadratic terms are not supported');
    } else if (NAME_START.test(c)) {
      let j = i + 1;
      while (j < n && NAME_CHAR.test(text[j])) j++;
      toks.push({ t: 'name', v: text.slice(i, j), line, first });
      i = j;
    } else {
      throw new ModelParseError(line, `unexpected character ${JSON.stringify(c)}`);
    }
    first = false;
  }
  return toks;
}

type Section = 'objective' | 'constraints' | 'bounds' | 'generals' | 'binaries' | 'end';

const SENSE_WORDS: Record<string, 'minimize' | 'maximize'> = {
  minimize: 'minimize',
  minimise: 'minimize',
  minimum: 'minimize',
  min: 'minimize',
  maximize: 'maximize',
  maximise: 'maximize',
  maximum: 'maximize',
  max: 'maximize',
};

/** Words that start a section when first on a line (and that writeLp never uses as names). */
const KEYWORDS = new Set([
  ...Object.keys(SENSE_WORDS),
  'subject',
  'such',
  'st',
  's.t.',
  'st.',
  'bounds',
  'bound',
  'general',
  'generals',
  'gen',
  'integer',
  'integers',
  'binary',
  'binaries',
  'bin',
  'semi',
  'semis',
  'semi-continuous',
  'sos',
  'end',
  'free',
  'inf',
  'infinity',
]);

const INFINITY_WORDS = new Set(['inf', 'infinity']);

class LpParser {
  private i = 0;
  private readonly vars = new Map<string, ModelVariable>();
  private readonly rows: ModelConstraint[] = [];
  private readonly rowNames = new Set<string>();
  private unnamedRows: number[] = [];
  private sense: 'minimize' | 'maximize' = 'minimize';
  private objTerms = new Map<string, number>();
  private objConstant = 0;
  private objName: string | undefined;

  constructor(
    private readonly toks: Tok[],
    private readonly lastLine: number,
  ) {}

  private peek(k = 0): Tok | undefined {
    return this.toks[this.i + k];
  }

  private lineHere(): number {
    return this.peek()?.line ?? this.lastLine;
  }

  private fail(message: string, tok = this.peek()): never {
    throw new ModelParseError(tok?.line ?? this.lastLine, message);
  }

  private variable(name: string): ModelVariable {
    let v = this.vars.get(name);
    if (!v) {
      v = { name, lower: 0, upper: Infinity, type: 'continuous' };
      this.vars.set(name, v);
    }
    return v;
  }

  /** The section a token at the current position starts (consuming its words), or null. */
  private sectionHere(): Section | 'sense' | null {
    const tok = this.peek();
    if (tok?.t !== 'name' || !tok.first) return null;
    const w = tok.v.toLowerCase();
    const next = this.peek(1);
    const nextWord = next?.t === 'name' ? next.v.toLowerCase() : '';
    if (w in SENSE_WORDS) {
      // "max: ..." could be a label in the constraints section of a sloppy file; a sense word is a keyword here
      this.i++;
      this.sense = SENSE_WORDS[w];
      return 'sense';
    }
    if ((w === 'subject' && nextWord === 'to') || (w === 'such' && nextWord === 'that')) {
      this.i += 2;
      return 'constraints';
    }
    if (w === 'st' || w === 's.t.' || w === 'st.') {
      this.i++;
      return 'constraints';
    }
    if (w === 'bounds' || w === 'bound') {
      this.i++;
      return 'bounds';
    }
    if (w === 'general' || w === 'generals' || w === 'gen' || w === 'integer' || w === 'integers') {
      this.i++;
      return 'generals';
    }
    if (w === 'binary' || w === 'binaries' || w === 'bin') {
      this.i++;
      return 'binaries';
    }
    if (w === 'semi' || w === 'semis' || w === 'semi-continuous') this.fail('semi-continuous variables are not supported');
    if (w === 'sos') this.fail('SOS sections are not supported');
    if (w === 'end') {
      this.i++;
      return 'end';
    }
    return null;
  }

  private atSectionStart(): boolean {
    const tok = this.peek();
    if (tok?.t !== 'name' || !tok.first) return false;
    const w = tok.v.toLowerCase();
    return KEYWORDS.has(w) && !INFINITY_WORDS.has(w) && w !== 'free' && !(this.peek(1)?.t === 'colon' && !(w in SENSE_WORDS));
  }

  /** A signed number (or ±inf) at the position, or null (nothing consumed). */
  private signedNumber(): number | null {
    let k = 0;
    let sign = 1;
    while (this.peek(k)?.t === 'sign') {
      sign *= (this.peek(k) as { v: 1 | -1 }).v;
      k++;
    }
    const tok = this.peek(k);
    if (tok?.t === 'num') {
      this.i += k + 1;
      return asBound(sign * tok.v);
    }
    if (tok?.t === 'name' && INFINITY_WORDS.has(tok.v.toLowerCase())) {
      this.i += k + 1;
      return sign * Infinity;
    }
    return null;
  }

  /**
   * A linear expression: terms `[signs] [number] name` and constants, until an operator, a label, a section keyword
   * or the end. Repeated variables are summed.
   */
  private expression(): { terms: Map<string, number>; constant: number; empty: boolean } {
    const terms = new Map<string, number>();
    let constant = 0;
    let empty = true;
    for (;;) {
      const tok = this.peek();
      if (!tok || tok.t === 'op' || tok.t === 'colon') break;
      if (this.atSectionStart()) break;
      if (tok.t === 'name' && this.peek(1)?.t === 'colon') break; // the next row's label
      if (!empty && tok.t !== 'sign') this.fail(`expected + or - before ${describe(tok)}`);
      let sign = 1;
      while (this.peek()?.t === 'sign') {
        sign *= (this.peek() as { v: 1 | -1 }).v;
        this.i++;
      }
      let coef = sign;
      let t = this.peek();
      if (t?.t === 'num') {
        coef = sign * t.v;
        this.i++;
        t = this.peek();
        const isTerm = t?.t === 'name' && !(this.peek(1)?.t === 'colon') && !this.atSectionStart() && !INFINITY_WORDS.has(t.v.toLowerCase());
        if (!isTerm) {
          constant += coef;
          empty = false;
          continue;
        }
      }
      if (t?.t !== 'name' || this.atSectionStart() || INFINITY_WORDS.has(t.v.toLowerCase())) this.fail(`expected a variable name, got ${describe(t)}`, t);
      this.i++;
      this.variable(t.v);
      terms.set(t.v, (terms.get(t.v) ?? 0) + coef);
      empty = false;
    }
    return { terms, constant, empty };
  }

  private label(): string | undefined {
    const tok = this.peek();
    if (tok?.t === 'name' && this.peek(1)?.t === 'colon') {
      this.i += 2;
      return tok.v;
    }
    return undefined;
  }

  private objective(): void {
    this.objName = this.label();
    const { terms, constant } = this.expression();
    this.objTerms = terms;
    this.objConstant = constant;
    const tok = this.peek();
    if (tok && !this.atSectionStart()) this.fail(`unexpected ${describe(tok)} in the objective`);
  }

  private constraint(): void {
    const startLine = this.lineHere();
    const name = this.label();
    let lower = -Infinity;
    let upper = Infinity;
    let expr: ReturnType<LpParser['expression']>;
    const save = this.i;
    const lead = this.signedNumber();
    if (lead !== null && this.peek()?.t === 'op') {
      // lo <= expr [<= hi], hi >= expr [>= lo], v = expr
      const op1 = (this.peek() as { v: string }).v;
      this.i++;
      expr = this.expression();
      if (expr.terms.size === 0) this.fail('a constraint needs at least one variable');
      if (op1 === '<=') lower = lead;
      else if (op1 === '>=') upper = lead;
      else lower = upper = lead;
      if (this.peek()?.t === 'op') {
        const op2 = (this.peek() as { v: string }).v;
        if (op2 !== op1 || op1 === '=') this.fail(`a range needs two ${op1 === '=' ? '<= or two >=' : op1} operators`);
        this.i++;
        const v = this.signedNumber();
        if (v === null) this.fail(`expected a number after ${op2}`);
        if (op2 === '<=') upper = v;
        else lower = v;
      }
    } else {
      this.i = save;
      expr = this.expression();
      if (expr.empty) this.fail(`expected a constraint, got ${describe(this.peek())}`);
      const op = this.peek();
      if (op?.t !== 'op') this.fail(`expected <=, >= or = after the expression, got ${describe(op)}`, op);
      this.i++;
      const rhs = this.signedNumber();
      if (rhs === null) this.fail(`expected a number on the right-hand side, got ${describe(this.peek())}`);
      if (this.peek()?.t === 'name' && !this.atSectionStart() && this.peek(1)?.t !== 'colon' && this.peek()?.line === this.toks[this.i - 1].line) {
        this.fail('variables on the right-hand side are not supported');
      }
      if (op.v === '<=') upper = rhs;
      else if (op.v === '>=') lower = rhs;
      else lower = upper = rhs;
    }
    // constants on the expression side move to the right
    lower -= expr.constant;
    upper -= expr.constant;
    if (Number.isNaN(lower) || Number.isNaN(upper) || lower === Infinity || upper === -Infinity) {
      throw new ModelParseError(startLine, 'infinite right-hand side');
    }
    if (name !== undefined) {
      if (this.rowNames.has(name)) throw new ModelParseError(startLine, `duplicate constraint name ${JSON.stringify(name)}`);
      this.rowNames.add(name);
    } else {
      this.unnamedRows.push(this.rows.length);
    }
    this.rows.push({ name: name ?? '', terms: [...expr.terms].map(([n, coef]) => ({ name: n, coef })), lower, upper });
  }

  private bound(): void {
    const tok = this.peek();
    const lead = this.signedNumber();
    if (lead !== null) {
      const op1 = this.peek();
      if (op1?.t !== 'op') this.fail(`expected <=, >= or = after ${lead}`, op1);
      this.i++;
      const nameTok = this.peek();
      if (nameTok?.t !== 'name') this.fail(`expected a variable name, got ${describe(nameTok)}`, nameTok);
      this.i++;
      const v = this.variable(nameTok.v);
      if (op1.v === '<=') v.lower = lead;
      else if (op1.v === '>=') v.upper = lead;
      else v.lower = v.upper = lead;
      const op2 = this.peek();
      if (op2?.t === 'op' && op2.line === nameTok.line) {
        if (op2.v !== op1.v || op1.v === '=') this.fail(`a bound range needs two ${op1.v === '=' ? '<= or two >=' : op1.v} operators`, op2);
        this.i++;
        const b = this.signedNumber();
        if (b === null) this.fail(`expected a number after ${op2.v}`);
        if (op2.v === '<=') v.upper = b;
        else v.lower = b;
      }
      this.checkBound(v, tok!.line);
      return;
    }
    if (tok?.t !== 'name') this.fail(`expected a bound, got ${describe(tok)}`);
    this.i++;
    const v = this.variable(tok.v);
    const next = this.peek();
    if (next?.t === 'name' && next.v.toLowerCase() === 'free' && next.line === tok.line) {
      this.i++;
      v.lower = -Infinity;
      v.upper = Infinity;
      return;
    }
    if (next?.t !== 'op') this.fail(`expected <=, >=, = or free after ${tok.v}`, next);
    this.i++;
    const b = this.signedNumber();
    if (b === null) this.fail(`expected a number after ${next.v}`);
    if (next.v === '<=') v.upper = b;
    else if (next.v === '>=') v.lower = b;
    else v.lower = v.upper = b;
    this.checkBound(v, tok.line);
  }

  private checkBound(v: ModelVariable, line: number): void {
    if (v.lower === Infinity || v.upper === -Infinity) throw new ModelParseError(line, `bound of ${v.name} is infinite on the wrong side`);
  }

  parse(): OptimizationModel {
    let section: Section | null = null;
    const seen = new Set<Section>();
    while (this.peek()) {
      const s = this.sectionHere();
      if (s !== null) {
        const next: Section = s === 'sense' ? 'objective' : s;
        if (section === null && next !== 'objective') this.fail('the model must start with Minimize or Maximize', this.toks[this.i - 1]);
        if (seen.has(next) && next !== 'generals' && next !== 'binaries') this.fail(`a second ${next} section`, this.toks[this.i - 1]);
        seen.add(next);
        section = next;
        if (section === 'end') break;
        if (section === 'objective') this.objective();
        continue;
      }
      if (section === null) this.fail(`the model must start with Minimize or Maximize, got ${describe(this.peek())}`);
      if (section === 'constraints') this.constraint();
      else if (section === 'bounds') this.bound();
      else if (section === 'generals' || section === 'binaries') {
        const tok = this.peek()!;
        if (tok.t !== 'name' || INFINITY_WORDS.has(tok.v.toLowerCase())) this.fail(`expected a variable name, got ${describe(tok)}`);
        this.i++;
        const v = this.variable(tok.v);
        if (section === 'generals') {
          if (v.type === 'continuous') v.type = 'integer';
        } else {
          v.type = 'binary';
          v.lower = 0;
          v.upper = 1;
        }
      } else {
        this.fail(`unexpected ${describe(this.peek())}`);
      }
    }
    if (this.peek()) this.fail(`text after End: ${describe(this.peek())}`);
    if (section === null) throw new ModelParseError(this.lastLine, 'empty model: expected Minimize or Maximize');
    // unnamed rows get R1, R2, ... (their 1-based position), skipping names already used
    for (const idx of this.unnamedRows) {
      let name = `R${idx + 1}`;
      while (this.rowNames.has(name)) name = `${name}_`;
      this.rowNames.add(name);
      this.rows[idx].name = name;
    }
    const objective = {
      sense: this.sense,
      terms: [...this.objTerms].map(([name, coef]): Term => ({ name, coef })),
      constant: this.objConstant,
      ...(this.objName !== undefined ? { name: this.objName } : {}),
    };
    return validateModel({ variables: [...this.vars.values()], constraints: this.rows, objective });
  }
}

function describe(tok: Tok | undefined): string {
  if (!tok) return 'the end of the text';
  if (tok.t === 'num') return `number ${tok.v}`;
  if (tok.t === 'name') return JSON.stringify(tok.v);
  if (tok.t === 'op') return JSON.stringify(tok.v);
  if (tok.t === 'sign') return tok.v > 0 ? '"+"' : '"-"';
  return '":"';
}

/** Parses CPLEX LP text (see the module comment). Throws ModelTooLargeError, ModelParseError (with `line`). */
export function parseLp(text: string, opts: ParseOptions = {}): OptimizationModel {
  checkTextSize(text, opts.maxBytes);
  let lastLine = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lastLine++;
  return new LpParser(tokenize(text), lastLine).parse();
}

// ---------------------------------------------------------------------------------------------------------------- writer

const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const MAX_NAME = 255;
const LINE_WIDTH = 200;

/** Whether writeLp can use `name` as is (else it substitutes a generated name). */
export function isSafeLpName(name: string): boolean {
  return name.length <= MAX_NAME && SAFE_NAME.test(name) && !KEYWORDS.has(name.toLowerCase()) && !/^[eE]\d/.test(name);
}

/** Where one LP row written by writeLp comes from: model row `row`, its whole range or one side of a range. */
export interface LpRowOrigin {
  row: number;
  side: 'both' | 'lower' | 'upper';
}

/** The LP text plus how its names map back: `columns[i]` is the LP name of model variable i, `rows` by LP name. */
export interface LpText {
  text: string;
  columns: string[];
  rows: Map<string, LpRowOrigin>;
}

function num(x: number): string {
  if (x === Infinity) return '+inf';
  if (x === -Infinity) return '-inf';
  return String(x === 0 ? 0 : x);
}

function unique(base: string, used: Set<string>): string {
  let name = base;
  for (let k = 1; used.has(name) || !isSafeLpName(name); k++) name = `${base}_${k}`;
  used.add(name);
  return name;
}

function writeTerms(out: string[], head: string, terms: Term[], colName: (name: string) => string, tail: string): void {
  let line = head;
  for (const t of terms) {
    const piece = `${t.coef < 0 ? '-' : '+'} ${num(Math.abs(t.coef))} ${colName(t.name)}`;
    if (line.length + piece.length + 1 > LINE_WIDTH) {
      out.push(line);
      line = '   ';
    }
    line += ` ${piece}`;
  }
  if (line.length + tail.length + 1 > LINE_WIDTH) {
    out.push(line);
    line = '   ';
  }
  out.push(tail ? `${line} ${tail}` : line);
}

/**
 * The model as CPLEX LP text that HiGHS reads, with the name maps (see LpText). Names that are not plain identifiers
 * (letters, digits, `_`, `.`, not starting with a digit, not a keyword) are replaced by generated ones (`x_3`, `r_7`).
 * Ranges (both row bounds finite and different) become two rows `<name>_lo` (>=) and `<name>_hi` (<=), since the
 * HiGHS LP reader has no range syntax; rows with no finite bound are left out. Every variable is declared (one with
 * no coefficient anywhere appears in Bounds). Binary variables are written as Generals with explicit bounds.
 */
export function buildLp(model: OptimizationModel): LpText {
  const usedCols = new Set<string>();
  const usedRows = new Set<string>();
  for (const v of model.variables) if (isSafeLpName(v.name)) usedCols.add(v.name);
  for (const c of model.constraints) if (isSafeLpName(c.name)) usedRows.add(c.name);
  const columns = model.variables.map((v, i) => (isSafeLpName(v.name) ? v.name : unique(`x_${i + 1}`, usedCols)));
  const colByName = new Map<string, string>();
  model.variables.forEach((v, i) => {
    colByName.set(v.name, columns[i]);
  });
  const colName = (name: string) => colByName.get(name) ?? name;
  const appears = new Set<string>();

  const out: string[] = [];
  out.push(`\\ ${model.name ? `${model.name.replace(/[\r\n]/g, ' ')}: ` : ''}written by PlantGraph`);
  out.push(model.objective.sense === 'maximize' ? 'Maximize' : 'Minimize');
  const wanted = model.objective.name && isSafeLpName(model.objective.name) && !usedRows.has(model.objective.name) ? model.objective.name : 'obj';
  const objName = unique(wanted, usedRows);
  for (const t of model.objective.terms) appears.add(t.name);
  const constant = model.objective.constant ? `${model.objective.constant < 0 ? '-' : '+'} ${num(Math.abs(model.objective.constant))}` : '';
  writeTerms(out, ` ${objName}:`, model.objective.terms, colName, constant);

  out.push('Subject To');
  const rows = new Map<string, LpRowOrigin>();
  const firstVar = model.variables[0]?.name;
  model.constraints.forEach((c, i) => {
    if (c.lower === -Infinity && c.upper === Infinity) return;
    const terms = c.terms.length > 0 ? c.terms : firstVar !== undefined ? [{ name: firstVar, coef: 0 }] : [];
    if (terms.length === 0) return; // no variables at all: solveModel decides such rows before any solver runs
    for (const t of terms) appears.add(t.name);
    const base = isSafeLpName(c.name) ? c.name : unique(`r_${i + 1}`, usedRows);
    const isRange = c.lower !== -Infinity && c.upper !== Infinity && c.lower !== c.upper;
    const emit = (name: string, side: LpRowOrigin['side'], tail: string) => {
      rows.set(name, { row: i, side });
      writeTerms(out, ` ${name}:`, terms, colName, tail);
    };
    if (isRange) {
      emit(unique(`${base}_lo`, usedRows), 'lower', `>= ${num(c.lower)}`);
      emit(unique(`${base}_hi`, usedRows), 'upper', `<= ${num(c.upper)}`);
    } else if (c.lower === c.upper) emit(base, 'both', `= ${num(c.lower)}`);
    else if (c.upper !== Infinity) emit(base, 'both', `<= ${num(c.upper)}`);
    else emit(base, 'both', `>= ${num(c.lower)}`);
  });

  out.push('Bounds');
  model.variables.forEach((v, i) => {
    const n = columns[i];
    if (v.type === 'binary') out.push(` ${num(Math.max(0, v.lower))} <= ${n} <= ${num(Math.min(1, v.upper))}`);
    else if (v.lower === -Infinity && v.upper === Infinity) out.push(` ${n} free`);
    else if (v.lower === v.upper) out.push(` ${n} = ${num(v.lower)}`);
    else if (v.lower === 0 && v.upper === Infinity) {
      if (!appears.has(v.name) && v.type === 'continuous') out.push(` ${n} >= 0`);
    } else if (v.upper === Infinity) out.push(` ${n} >= ${num(v.lower)}`);
    else out.push(` ${num(v.lower)} <= ${n} <= ${num(v.upper)}`);
  });
  const ints = model.variables.map((v, i) => (v.type === 'continuous' ? '' : columns[i])).filter((n) => n !== '');
  if (ints.length > 0) {
    out.push('Generals');
    let line = '';
    for (const n of ints) {
      if (line.length + n.length + 1 > LINE_WIDTH) {
        out.push(line);
        line = '';
      }
      line += ` ${n}`;
    }
    out.push(line);
  }
  out.push('End', '');
  return { text: out.join('\n'), columns, rows };
}

/** The model as CPLEX LP text that HiGHS reads (see buildLp): the text a planner sees as `modelLp`. */
export function writeLp(model: OptimizationModel): string {
  return buildLp(model).text;
}
