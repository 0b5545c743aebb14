// XML text escaping for S3 responses.
// Guarantees: the result contains no raw '&', '<', '>', '"', '\'' and no raw control character; '\r' and
// other control characters become numeric references (as AWS writes them) so an XML parser does not
// normalise or drop them. Keys that hold characters XML 1.0 cannot carry should be listed with EncodingType=url.

const NEEDS_ESCAPE = /[&<>"'\u0000-\u0008\u000b\u000c\u000d\u000e-\u001f\ufffe\uffff]/;
const ESCAPE_ALL = /[&<>"'\u0000-\u0008\u000b\u000c\u000d\u000e-\u001f\ufffe\uffff]/g;

function escapeOne(character: string): string {
  switch (character) {
    case "&": return "&amp;";
    case "<": return "&lt;";
    case ">": return "&gt;";
    case '"': return "&quot;";
    case "'": return "&apos;";
    default: return `&#x${character.charCodeAt(0).toString(16).toUpperCase()};`;
  }
}

export function escapeXmlText(text: string): string {
  // Fast path: most keys and messages need nothing.
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(ESCAPE_ALL, escapeOne);
}
