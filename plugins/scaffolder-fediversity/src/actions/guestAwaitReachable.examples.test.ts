import { describeExamples } from '../testing/describeExamples';
import { createGuestAwaitReachableAction } from './guestAwaitReachable';
import { examples } from './guestAwaitReachable.examples';

describeExamples('guestAwaitReachable', createGuestAwaitReachableAction, examples);
