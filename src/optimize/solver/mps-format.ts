/**
 * MPS text (fixed or free format) into an OptimizationModel: NAME, OBJSENSE (free-format extension: MIN/MAX on the
 * same or the next line), ROWS (N/L/G/E; the first N row is the objective, later N rows are dropped), COLUMNS with
 * MARKER INTORG/INTEND, RHS (an RHS on the objective row is the negated objective constant), RANGES, BOUNDS
 * UP/LO/FX/FR/MI/PL/BV/LI/UI, ENDATA. Lines starting with `*` are comments. Only the first RHS, RANGES and BOUNDS set
 * is used; entries of other sets are ignored, as in the MPS standard. Bound and RHS values of magnitude 1e20 or more
 * are infinite (an L row with RHS +inf is free; an infinite RHS on the wrong side is refused).
 *
 * Defaults follow HiGHS 1.15 (checked against its reader): an integer column from an INTORG/INTEND block that no
 * BOUNDS entry mentions gets bounds [0, 1]; once any BOUNDS entry names it, the implied upper bound 1 is dropped
 * (LO 2 gives [2, +inf), MI gives (-inf, +inf)). A negative UP bound leaves the lower bound at 0. Ranges: on an L row
 * [rhs - |R|, rhs], on a G row [rhs, rhs + |R|], on an E row [rhs, rhs + R] for R > 0 and [rhs + R, rhs] for R < 0.
 */
import { type ParseOptions, ModelParseError, checkTextSize } from './lp-format.ts';
import type { ModelConstraint, ModelVariable, OptimizationModel, Term } from './model.ts';
import { asBound, validateModel } from './model.ts';

export interface MpsParseOptions extends ParseOptions {
  /**
   * 'free': fields separated by white space (names without spaces); 'fixed': fields in the standard columns (names may
   * contain spaces); 'auto' (default): free, and fixed when free fails (the error of the one that got further wins).
   */
  format?: 'auto' | 'free' | 'fixed';
}

type RowType = 'N' | 'L' | 'G' | 'E';

interface Col {
  v: ModelVariable;
  markerInt: boolean;
  bounded: boolean;
}

const SECTIONS = new Set(['NAME', 'OBJSENSE', 'ROWS', 'COLUMNS', 'RHS', 'RANGES', 'BOUNDS', 'ENDATA']);
const UNSUPPORTED = new Set(['QUADOBJ', 'QMATRIX', 'QSECTION', 'QCMATRIX', 'SOS', 'CSECTION', 'INDICATORS', 'GENERAL']);

/** Fields of a fixed-format data line (columns 2-3, 5-12, 15-22, 25-36, 40-47, 50-61), trimmed, empty ones dropped at the end. */
function fixedFields(line: string): string[] {
  const cut = (a: number, b: number) => line.slice(a, b).trim();
  const f = [cut(1, 3), cut(4, 12), cut(14, 22), cut(24, 36), cut(39, 47), cut(49, 61)];
  while (f.length > 0 && f[f.length - 1] === '') f.pop();
  return f;
}

/** The fields of a fixed-format line, arranged as the free-format parser expects them (empty set names dropped). */
function fixedLine(section: string, raw: string): string[] {
  if (section === 'COLUMNS') return /'MARKER'/i.test(raw) ? raw.trim().split(/\s+/) : fixedFields(raw).slice(1);
  if (section === 'RHS' || section === 'RANGES') {
    const f = fixedFields(raw).slice(1);
    return f[0] === '' ? f.slice(1) : f;
  }
  if (section === 'BOUNDS') {
    const f = fixedFields(raw);
    return f[1] === '' ? [f[0], ...f.slice(2)] : f;
  }
  if (section === 'OBJSENSE') return [raw.trim()];
  return fixedFields(raw);
}

function parseNumber(s: string | undefined, line: number, what: string): number {
  const x = s === undefined ? Number.NaN : Number(s);
  if (s === undefined || s === '' || Number.isNaN(x)) {
    const lower = s?.toLowerCase();
    if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity') return Infinity;
    if (lower === '-inf' || lower === '-infinity') return -Infinity;
    throw new ModelParseError(line, `expected a number for ${what}, got ${JSON.stringify(s ?? '')}`);
  }
  return x;
}

function parseWith(text: string, fixed: boolean): OptimizationModel {
  const lines = text.split('\n');
  let section = '';
  let name: string | undefined;
  let sense: 'minimize' | 'maximize' = 'minimize';
  let objRow: string | undefined;
  const rowType = new Map<string, RowType>();
  const droppedRows = new Set<string>();
  const rows: { name: string; type: RowType; terms: Term[]; rhs: number; range: number | undefined }[] = [];
  const rowIndex = new Map<string, number>();
  const cols = new Map<string, Col>();
  const objTerms: Term[] = [];
  let objConstant = 0;
  let inInt = false;
  let lastCol: string | undefined;
  const entries = new Set<string>();
  let rhsSet: string | undefined;
  let rangeSet: string | undefined;
  let boundSet: string | undefined;
  let ended = false;

  for (let ln = 0; ln < lines.length; ln++) {
    const lineNo = ln + 1;
    const raw = lines[ln].replace(/\r$/, '');
    if (raw.trim() === '' || raw.startsWith('*')) continue;
    if (ended) throw new ModelParseError(lineNo, 'text after ENDATA');
    const fail = (msg: string): never => {
      throw new ModelParseError(lineNo, msg);
    };
    if (!/^\s/.test(raw)) {
      const words = raw.trim().split(/\s+/);
      const head = words[0].toUpperCase();
      if (SECTIONS.has(head)) {
        section = head;
        if (head === 'NAME') name = raw.trim().slice(4).trim() || undefined;
        else if (head === 'OBJSENSE' && words[1]) sense = objSense(words[1], lineNo);
        else if (head === 'ENDATA') ended = true;
        else if (words.length > 1 && head !== 'RHS' && head !== 'RANGES' && head !== 'BOUNDS') fail(`unexpected text after ${head}`);
        continue;
      }
      if (UNSUPPORTED.has(head)) fail(`section ${head} is not supported`);
      if (section === '' || section === 'NAME') fail(`unknown section ${JSON.stringify(words[0])}`);
      // a data line that starts in column 1: allowed in free format
      if (fixed) fail(`unknown section ${JSON.stringify(words[0])}`);
    }
    const f = fixed ? fixedLine(section, raw) : raw.trim().split(/\s+/);
    switch (section) {
      case 'OBJSENSE':
        sense = objSense(f.join(''), lineNo);
        break;
      case 'ROWS': {
        if (f.length !== 2) fail('a ROWS line needs a type and a name');
        const t = f[0].toUpperCase();
        if (t !== 'N' && t !== 'L' && t !== 'G' && t !== 'E') fail(`unknown row type ${JSON.stringify(f[0])}`);
        const rn = f[1];
        if (rowType.has(rn)) fail(`duplicate row name ${JSON.stringify(rn)}`);
        rowType.set(rn, t as RowType);
        if (t === 'N') {
          if (objRow === undefined) objRow = rn;
          else droppedRows.add(rn);
        } else {
          rowIndex.set(rn, rows.length);
          rows.push({ name: rn, type: t as RowType, terms: [], rhs: 0, range: undefined });
        }
        break;
      }
      case 'COLUMNS': {
        if (f.length >= 3 && f[1].replace(/'/g, '').toUpperCase() === 'MARKER') {
          const m = f[2].replace(/'/g, '').toUpperCase();
          if (m === 'INTORG') inInt = true;
          else if (m === 'INTEND') inInt = false;
          else fail(`unknown marker ${JSON.stringify(f[2])}`);
          break;
        }
        if (f.length !== 3 && f.length !== 5) fail('a COLUMNS line needs a column and one or two row/value pairs');
        const cn = f[0];
        let col = cols.get(cn);
        if (!col) {
          col = { v: { name: cn, lower: 0, upper: Infinity, type: inInt ? 'integer' : 'continuous' }, markerInt: inInt, bounded: false };
          cols.set(cn, col);
        } else if (lastCol !== cn) fail(`column ${JSON.stringify(cn)} appears again after other columns`);
        lastCol = cn;
        for (let k = 1; k + 1 < f.length; k += 2) {
          const rn = f[k];
          const value = parseNumber(f[k + 1], lineNo, `${cn} in ${rn}`);
          if (!Number.isFinite(value)) fail(`coefficient of ${cn} in ${rn} is not finite`);
          if (!rowType.has(rn)) fail(`unknown row ${JSON.stringify(rn)}`);
          const key = `${cn}\u0000${rn}`;
          if (entries.has(key)) fail(`a second entry for column ${JSON.stringify(cn)} in row ${JSON.stringify(rn)}`);
          entries.add(key);
          if (rn === objRow) objTerms.push({ name: cn, coef: value });
          else if (!droppedRows.has(rn)) rows[rowIndex.get(rn)!].terms.push({ name: cn, coef: value });
        }
        break;
      }
      case 'RHS':
      case 'RANGES': {
        // [set] row value [row value]
        let k = 0;
        if (f.length === 3 || f.length === 5) k = 1;
        else if (f.length !== 2 && f.length !== 4) fail(`a ${section} line needs one or two row/value pairs`);
        const set = k === 1 ? f[0] : '';
        if (section === 'RHS') {
          rhsSet ??= set;
          if (set !== rhsSet) break;
        } else {
          rangeSet ??= set;
          if (set !== rangeSet) break;
        }
        for (; k + 1 < f.length; k += 2) {
          const rn = f[k];
          const value = asBound(parseNumber(f[k + 1], lineNo, `${section} of ${rn}`));
          if (!rowType.has(rn)) fail(`unknown row ${JSON.stringify(rn)}`);
          const type = rowType.get(rn);
          if (Number.isNaN(value) || (section === 'RHS' && !Number.isFinite(value) && (type === 'E' || type === 'N' || (type === 'G') === value > 0))) {
            fail(`${section} ${value} of ${type} row ${rn} is infinite on the wrong side`);
          }
          if (section === 'RHS') {
            if (rn === objRow) objConstant = -value;
            else if (!droppedRows.has(rn)) rows[rowIndex.get(rn)!].rhs = value;
          } else {
            if (rowType.get(rn) === 'N') fail(`a range on the objective row ${JSON.stringify(rn)}`);
            rows[rowIndex.get(rn)!].range = value;
          }
        }
        break;
      }
      case 'BOUNDS': {
        const type = f[0]?.toUpperCase();
        const noValue = type === 'FR' || type === 'MI' || type === 'PL' || type === 'BV';
        let set: string;
        let cn: string;
        let valueText: string | undefined;
        if (noValue) {
          // type [set] column [value, ignored]
          if (f.length === 2) [set, cn] = ['', f[1]];
          else if (f.length === 3 && !cols.has(f[2]) && cols.has(f[1]) && !Number.isNaN(Number(f[2]))) [set, cn] = ['', f[1]];
          else if (f.length === 3 || f.length === 4) [set, cn] = [f[1], f[2]];
          else fail(`a ${type} bound needs a column`);
        } else {
          if (f.length === 3) [set, cn, valueText] = ['', f[1], f[2]];
          else if (f.length === 4) [set, cn, valueText] = [f[1], f[2], f[3]];
          else fail(`a ${type ?? ''} bound needs a column and a value`);
        }
        boundSet ??= set!;
        if (set! !== boundSet) break;
        const col = cols.get(cn!);
        if (!col) fail(`unknown column ${JSON.stringify(cn!)}`);
        const v = col!.v;
        if (col!.markerInt && !col!.bounded) v.upper = Infinity;
        col!.bounded = true;
        const value = noValue ? 0 : asBound(parseNumber(valueText, lineNo, `the ${type} bound of ${cn!}`));
        switch (type) {
          case 'UP':
            v.upper = value;
            break;
          case 'LO':
            v.lower = value;
            break;
          case 'FX':
            v.lower = v.upper = value;
            break;
          case 'FR':
            v.lower = -Infinity;
            v.upper = Infinity;
            break;
          case 'MI':
            v.lower = -Infinity;
            break;
          case 'PL':
            v.upper = Infinity;
            break;
          case 'BV':
            v.type = 'binary';
            v.lower = 0;
            v.upper = 1;
            break;
          case 'LI':
            if (v.type === 'continuous') v.type = 'integer';
            v.lower = value;
            break;
          case 'UI':
            if (v.type === 'continuous') v.type = 'integer';
            v.upper = value;
            break;
          case 'SC':
            fail('semi-continuous bounds (SC) are not supported');
            break;
          default:
            fail(`unknown bound type ${JSON.stringify(f[0])}`);
        }
        if (v.lower === Infinity || v.upper === -Infinity) fail(`bound of ${cn!} is infinite on the wrong side`);
        break;
      }
      case '':
      case 'NAME':
        fail('data before the ROWS section');
        break;
      default:
        fail(`unexpected line in section ${section}`);
    }
  }
  let lastLine = lines.length;
  while (lastLine > 1 && lines[lastLine - 1].trim() === '') lastLine--;
  if (!ended) throw new ModelParseError(lastLine, 'missing ENDATA');
  if (objRow === undefined && rowType.size === 0) throw new ModelParseError(lastLine, 'no ROWS section');

  // integer marker columns with no BOUNDS entry: [0, 1] as in HiGHS
  for (const col of cols.values()) if (col.markerInt && !col.bounded) col.v.upper = 1;

  const constraints: ModelConstraint[] = rows.map((r) => {
    let lower = r.type === 'L' ? -Infinity : r.rhs;
    let upper = r.type === 'G' ? Infinity : r.rhs;
    if (r.range !== undefined && Number.isFinite(r.rhs)) {
      const R = r.range;
      if (r.type === 'L') lower = r.rhs - Math.abs(R);
      else if (r.type === 'G') upper = r.rhs + Math.abs(R);
      else if (R > 0) upper = r.rhs + R;
      else lower = r.rhs + R;
    }
    return { name: r.name, terms: r.terms, lower, upper };
  });
  return validateModel({
    ...(name ? { name } : {}),
    variables: [...cols.values()].map((c) => c.v),
    constraints,
    objective: { sense, terms: objTerms, constant: objConstant, ...(objRow ? { name: objRow } : {}) },
  });
}

function objSense(word: string, line: number): 'minimize' | 'maximize' {
  const w = word.toUpperCase();
  if (w === 'MAX' || w === 'MAXIMIZE' || w === 'MAXIMISE') return 'maximize';
  if (w === 'MIN' || w === 'MINIMIZE' || w === 'MINIMISE') return 'minimize';
  throw new ModelParseError(line, `unknown objective sense ${JSON.stringify(word)}`);
}

/** Parses MPS text (see the module comment). Throws ModelTooLargeError, ModelParseError (with `line`). */
export function parseMps(text: string, opts: MpsParseOptions = {}): OptimizationModel {
  checkTextSize(text, opts.maxBytes);
  const format = opts.format ?? 'auto';
  if (format !== 'auto') return parseWith(text, format === 'fixed');
  try {
    return parseWith(text, false);
  } catch (freeError) {
    if (!(freeError instanceof ModelParseError)) throw freeError;
    try {
      return parseWith(text, true);
    } catch (fixedError) {
      if (!(fixedError instanceof ModelParseError)) throw fixedError;
      throw fixedError.line > freeError.line ? fixedError : freeError;
    }
  }
}
