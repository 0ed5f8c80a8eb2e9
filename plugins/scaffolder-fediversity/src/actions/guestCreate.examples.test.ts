import { describeExamples } from '../testing/describeExamples';
import { createGuestCreateAction } from './guestCreate';
import { examples } from './guestCreate.examples';

describeExamples('guestCreate', createGuestCreateAction, examples);
