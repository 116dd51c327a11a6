import { seededRandom, shuffle } from '../../core/random.ts';

/** One cross-validation split: positions (0..n-1) of the rows to train on and to test on, ascending. */
export interface Fold {
  train: Uint32Array;
  test: Uint32Array;
}

/** Shuffled k-fold: fold sizes differ by at most one. */
export function kFold(n: number, k: number, seed: number): Fold[] {
  const order = shuffle(
    Uint32Array.from({ length: n }, (_, i) => i),
    seededRandom(seed),
  );
  const assignment = new Int32Array(n);
  for (let p = 0; p < n; p++) assignment[order[p]] = p % k;
  return foldsFrom(assignment, k);
}

/**
 * Stratified k-fold: each class's rows are shuffled and dealt to the folds in turn, continuing where the previous
 * class stopped, so every fold has its share of each class (±1) and fold sizes differ by at most one.
 */
export function stratifiedKFold(labels: ArrayLike<number>, k: number, seed: number): Fold[] {
  const random = seededRandom(seed);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    let list = byClass.get(labels[i]);
    if (!list) byClass.set(labels[i], (list = []));
    list.push(i);
  }
  const assignment = new Int32Array(labels.length);
  let next = 0;
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    for (const i of shuffle(byClass.get(label)!, random)) assignment[i] = next++ % k;
  }
  return foldsFrom(assignment, k);
}

/**
 * Grouped k-fold: all rows of a group (one machine, one engine; null is a group of its own) land in the same fold.
 * Groups are shuffled, then placed largest first into the fold with the fewest rows so far. Needs at least k groups.
 */
export function groupKFold(groups: ArrayLike<string | number | null>, k: number, seed: number): Fold[] {
  const members = new Map<string | number | null, number[]>();
  for (let i = 0; i < groups.length; i++) {
    let list = members.get(groups[i]);
    if (!list) members.set(groups[i], (list = []));
    list.push(i);
  }
  const lists = shuffle([...members.values()], seededRandom(seed));
  // Array.prototype.sort is stable, so groups of equal size keep their shuffled order.
  lists.sort((a, b) => b.length - a.length);
  const sizes = new Array<number>(k).fill(0);
  const assignment = new Int32Array(groups.length);
  for (const list of lists) {
    let fold = 0;
    for (let f = 1; f < k; f++) if (sizes[f] < sizes[fold]) fold = f;
    sizes[fold] += list.length;
    for (const i of list) assignment[i] = fold;
  }
  return foldsFrom(assignment, k);
}

function foldsFrom(assignment: Int32Array, k: number): Fold[] {
  const sizes = new Int32Array(k);
  for (const f of assignment) sizes[f]++;
  return Array.from({ length: k }, (_, fold) => {
    const test = new Uint32Array(sizes[fold]);
    const train = new Uint32Array(assignment.length - sizes[fold]);
    let t = 0;
    let r = 0;
    for (let i = 0; i < assignment.length; i++) {
      if (assignment[i] === fold) test[t++] = i;
      else train[r++] = i;
    }
    return { train, test };
  });
}
