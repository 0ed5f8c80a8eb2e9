import { describeExamples } from '../__testUtils__/describeExamples';
import { createGuestAwaitReachableAction } from './guestAwaitReachable';
import { examples } from './guestAwaitReachable.examples';

describeExamples('guestAwaitReachable', createGuestAwaitReachableAction, examples);
