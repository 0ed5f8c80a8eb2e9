import { describeExamples } from '../testing/describeExamples';
import { createInstanceRegisterAction } from './instanceRegister';
import { examples } from './instanceRegister.examples';

describeExamples('instanceRegister', createInstanceRegisterAction, examples);
