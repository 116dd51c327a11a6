/** The optimization solver layer: models, LP/MPS text, HiGHS and javascript-lp-solver, independent checking. */
export { CHECK_TOLERANCE, checkSolution, INTEGRALITY_TOLERANCE, type SolutionCheck, verifyOutcome } from './check.ts';
export { HIGHS_STATUS_WORDS, loadHighsOnce, mapHighsStatus, solveWithHighs } from './highs.ts';
export { solveWithJslp, toJslpModel } from './jslp.ts';
export { buildLp, DEFAULT_MAX_MODEL_BYTES, ModelParseError, ModelTooLargeError, type ParseOptions, parseLp, writeLp } from './lp-format.ts';
export * from './model.ts';
export { type MpsParseOptions, parseMps } from './mps-format.ts';
export * from './outcome.ts';
export {
  chooseSolver,
  JSLP_AUTO_MAX_VARIABLES,
  type SolveModelOptions,
  type SolverChoice,
  type SolverFunction,
  type SolveTask,
  solveModel,
  solveModelInWorker,
  solveText,
} from './solve.ts';
