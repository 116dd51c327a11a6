// Worker thread: fits a model (CPU-heavy, synchronous) off the event loop. Cancelling the job terminates the thread.
import { workerTask } from '../jobs/worker-task.ts';
import { type TrainRequest, trainModel } from './train/index.ts';

export default workerTask((request: TrainRequest, progress) => trainModel(request, { onProgress: progress }));
