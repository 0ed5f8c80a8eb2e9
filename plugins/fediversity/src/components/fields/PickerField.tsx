import { Alert, Flex, Text } from '@backstage/ui';

/**
 * The frame of a placement picker: label, a native select (keyboard and screen-reader friendly inside the
 * scaffolder's form), live-data state and a warning when the choice does not fit. The form's own errors
 * (`rawErrors`, e.g. the validator's) mark the select invalid; the form's field template prints them.
 */
export function PickerField(props: {
  id: string;
  label: string;
  description?: string;
  value: string;
  automaticLabel: string;
  options: Array<{ value: string; label: string }>;
  disabled?: boolean;
  loading?: boolean;
  loadError?: string;
  warning?: string;
  rawErrors?: string[];
  onChange(value: string): void;
}) {
  const known = props.value === '' || props.options.some(option => option.value === props.value);
  return (
    <Flex direction="column" gap="1">
      <label htmlFor={props.id}>
        <Text weight="bold">{props.label}</Text>
      </label>
      <select
        id={props.id}
        value={props.value}
        disabled={props.disabled || props.loading}
        aria-busy={props.loading || undefined}
        aria-invalid={Boolean(props.warning || props.rawErrors?.length) || undefined}
        onChange={event => props.onChange(event.target.value)}
      >
        <option value="">{props.automaticLabel}</option>
        {props.options.map(option => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
        {/* A value from the URL or an earlier run stays visible even when the live data no longer lists it. */}
        {!known && <option value={props.value}>{props.value} (not available now)</option>}
      </select>
      {props.loading && <Text color="secondary">Loading live data from the cluster…</Text>}
      {props.description && !props.loading && <Text color="secondary">{props.description}</Text>}
      {props.loadError && (
        <Alert status="warning" icon title="Live data is not available" description={`${props.loadError} Automatic placement still works.`} />
      )}
      {props.warning && <Alert status="danger" icon title={props.warning} />}
    </Flex>
  );
}
