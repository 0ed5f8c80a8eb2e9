import { utils } from 'ssh2';
import { generateSshKeyPair } from './keys';

describe('generateSshKeyPair', () => {
  // ssh2 alone produces an unreadable ed25519 key about once in 256; 2,000 pairs would hit it almost surely.
  it('returns only pairs that parse and whose halves sign and verify', () => {
    for (let i = 0; i < 2000; i++) {
      const pair = generateSshKeyPair(`test-${i}`);
      const privateKey = utils.parseKey(pair.privateKey);
      const publicKey = utils.parseKey(pair.publicKey);
      if (privateKey instanceof Error || publicKey instanceof Error) {
        throw new Error(`pair ${i} does not parse: ${privateKey instanceof Error ? privateKey.message : ''} ${publicKey instanceof Error ? publicKey.message : ''}`);
      }
      const data = Buffer.from(`message ${i}`);
      expect(publicKey.verify(data, privateKey.sign(data) as Buffer)).toBe(true);
    }
  });
});
