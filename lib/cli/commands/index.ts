import type { TaskCommand } from '../task-command';
import { classify } from './classify';
import { embed } from './embed';
import { ner } from './ner';
import { qa } from './qa';
import { rerank } from './rerank';

/** The task commands, in the order --help lists them. */
export const TASK_COMMANDS: readonly TaskCommand[] = [classify, ner, qa, embed, rerank];
