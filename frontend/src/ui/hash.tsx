/** The first characters of a hash, with the whole of it on hover and for screen readers. */
export function ShortHash({ value, label }: { value: string | undefined; label?: string }) {
  if (!value) return null;
  return (
    <code class="hash" title={value} aria-label={`${label ? `${label} ` : ''}${value}`}>
      {value.length > 16 ? `${value.slice(0, 12)}…` : value}
    </code>
  );
}
