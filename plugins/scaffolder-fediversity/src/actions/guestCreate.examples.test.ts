import { describeExamples } from '../__testUtils__/describeExamples';
import { createGuestCreateAction } from './guestCreate';
import { examples } from './guestCreate.examples';

describeExamples('guestCreate', createGuestCreateAction, examples);
