// rules-keyword-reset.ts
import { defineRules } from 'palisade';
import { keywordReset } from 'palisade/rules';

export default defineRules((ctx) => {
  // FTP commands that run programs or copy files on the server: reset.
  keywordReset(ctx, {
    name: 'ftp-commands',
    ports: 21,
    description: 'forbidden FTP command',
    keywords: [
      { pattern: /^\s*SITE\s+EXEC/i, description: 'FTP SITE EXEC', ref: 'CVE-1999-0080' },
      { pattern: /^\s*SITE\s+CP(?:FR|TO)/i, description: 'ProFTPD mod_copy', ref: 'CVE-2015-3306' },
    ],
  });
  // SMTP user enumeration: reported only.
  keywordReset(ctx, {
    name: 'smtp-enumeration',
    ports: [25, 587],
    action: 'alert',
    severity: 'medium',
    keywords: [{ pattern: /^\s*(?:VRFY|EXPN)\b/i, description: 'SMTP user enumeration' }],
  });
});
