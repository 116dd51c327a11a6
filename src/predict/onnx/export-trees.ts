/**
 * The attributes of an ai.onnx.ml (opset 3) TreeEnsembleRegressor for the trees of a ModelSpec: one node list over
 * all trees, BRANCH_LEQ splits (x <= threshold goes to the true branch, the spec's `left`), NaN tracking per
 * missingLeft, a leaf per target entry, SUM aggregation over `scores` targets, and base values. Thresholds, leaf
 * weights and base values are double tensors (`*_as_tensor`), so nothing is rounded to float32.
 */
import type { EstimatorSpec } from '../spec.ts';
import type { AttributeValue } from './proto.ts';
import { doubleTensor } from './proto.ts';

type Trees = Extract<EstimatorSpec, { kind: 'trees' }>;

/** A model without trees still needs one: a single leaf of value 0. */
const EMPTY_TREE = { tree: { feature: [0], threshold: [0], left: [-1], right: [-1], missingLeft: [false], value: [0], cover: [0] }, output: 0 };

export function treeEnsembleAttributes(est: Trees, scores: number): Record<string, AttributeValue> {
  const n = { treeIds: [] as number[], nodeIds: [] as number[], features: [] as number[], modes: [] as string[], values: [] as number[] };
  const branch = { trueIds: [] as number[], falseIds: [] as number[], missingTrue: [] as number[] };
  const target = { treeIds: [] as number[], nodeIds: [] as number[], ids: [] as number[], weights: [] as number[] };
  const trees = est.trees.length > 0 ? est.trees : [EMPTY_TREE];
  trees.forEach(({ tree, output }, t) => {
    for (let i = 0; i < tree.feature.length; i++) {
      const leaf = tree.left[i] === -1;
      n.treeIds.push(t);
      n.nodeIds.push(i);
      n.features.push(leaf ? 0 : tree.feature[i]);
      n.modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      n.values.push(leaf ? 0 : tree.threshold[i]);
      branch.trueIds.push(leaf ? 0 : tree.left[i]);
      branch.falseIds.push(leaf ? 0 : tree.right[i]);
      branch.missingTrue.push(!leaf && tree.missingLeft[i] ? 1 : 0);
      if (leaf) {
        target.treeIds.push(t);
        target.nodeIds.push(i);
        target.ids.push(output);
        target.weights.push(tree.value[i]);
      }
    }
  });
  return {
    nodes_treeids: { ints: n.treeIds },
    nodes_nodeids: { ints: n.nodeIds },
    nodes_featureids: { ints: n.features },
    nodes_modes: n.modes,
    nodes_values_as_tensor: doubleTensor('nodes_values', [n.values.length], n.values),
    nodes_truenodeids: { ints: branch.trueIds },
    nodes_falsenodeids: { ints: branch.falseIds },
    nodes_missing_value_tracks_true: { ints: branch.missingTrue },
    target_treeids: { ints: target.treeIds },
    target_nodeids: { ints: target.nodeIds },
    target_ids: { ints: target.ids },
    target_weights_as_tensor: doubleTensor('target_weights', [target.weights.length], target.weights),
    base_values_as_tensor: doubleTensor('base_values', [est.base.length], est.base),
    n_targets: scores,
    aggregate_function: 'SUM',
    post_transform: 'NONE',
  };
}
