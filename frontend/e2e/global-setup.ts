// Runs once before every browser test file: the screenshots of one run sit
// side by side under e2e-output/, none of them wiped by a later file.
import { freshOutput } from './visit';

export default function setup(): void {
  freshOutput();
}
