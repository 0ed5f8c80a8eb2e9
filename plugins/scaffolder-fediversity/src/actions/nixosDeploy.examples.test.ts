import { describeExamples } from '../__testUtils__/describeExamples';
import { createNixosDeployAction } from './nixosDeploy';
import { examples } from './nixosDeploy.examples';

describeExamples('nixosDeploy', createNixosDeployAction, examples);
