import { Alert } from '@backstage/ui';

/**
 * A backend error, shown as the backend worded it. A 403 is named as a permission problem, so a person knows the
 * action is not broken but not theirs to take.
 */
export function ErrorAlert(props: { title: string; error: Error }) {
  const status = (props.error as { status?: number }).status;
  const reason =
    status === 403 || props.error.name === 'NotAllowedError'
      ? 'You are not allowed to do this: '
      : status === 409 || props.error.name === 'ConflictError'
        ? 'Not possible in the current state: '
        : '';
  return <Alert status="danger" icon title={props.title} description={`${reason}${props.error.message}`} />;
}
