import { describeExamples } from '../__testUtils__/describeExamples';
import { createInstanceRegisterAction } from './instanceRegister';
import { examples } from './instanceRegister.examples';

describeExamples('instanceRegister', createInstanceRegisterAction, examples);
