import { Alert } from '@backstage/ui';

/**
 * A backend error, shown as the backend worded it. A 403 is named as a permission problem, so a person knows the
 * action is not broken but not theirs to take.
 */
export function ErrorAlert(props: { title: string; error: Error }) {
  return <Alert status="danger" icon title={props.title} description={`${reasonOf(props.error)}${props.error.message}`} />;
}

function reasonOf(error: Error): string {
  const status = (error as { status?: number }).status;
  if (status === 403 || error.name === 'NotAllowedError') return 'You are not allowed to do this: ';
  if (status === 409 || error.name === 'ConflictError') return 'Not possible in the current state: ';
  return '';
}
