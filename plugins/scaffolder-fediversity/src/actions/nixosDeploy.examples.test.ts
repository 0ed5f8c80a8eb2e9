import { describeExamples } from '../testing/describeExamples';
import { createNixosDeployAction } from './nixosDeploy';
import { examples } from './nixosDeploy.examples';

describeExamples('nixosDeploy', createNixosDeployAction, examples);
