// Who may learn about a token (RFC 7662 §2.1 leaves it to the server), and whether it is still alive:
//   - a confidential client may introspect the tokens issued to it;
//   - a resource server may introspect tokens whose audience it is;
//   - nobody learns of a token issued before its account's logout everywhere: that token is inactive.
// Everyone else gets {"active": false}, which reveals nothing.
import type { NotBeforeCheck } from '../accounts/not-before.js';
import type { ResourceServers } from '../clients/resource-servers.js';

export interface IntrospectedToken {
  clientId?: string | undefined;
  aud?: string | string[] | undefined;
  accountId?: string | undefined;
  iat?: number | undefined;
}

export interface IntrospectingClient {
  clientId: string;
  clientAuthMethod?: string | undefined;
}

export function createIntrospectionPolicy({ resourceServers, notBefore }: { resourceServers: ResourceServers; notBefore: NotBeforeCheck }) {
  return async (client: IntrospectingClient, token: IntrospectedToken): Promise<boolean> => {
    if (client.clientAuthMethod === 'none') return false;
    let allowed = token.clientId === client.clientId;
    if (!allowed && token.aud !== undefined) {
      const identifier = await resourceServers.identifierOf(client.clientId);
      allowed = identifier !== undefined && [token.aud].flat().includes(identifier);
    }
    return allowed && !(await notBefore(token.accountId, token.iat));
  };
}

export type IntrospectionPolicy = ReturnType<typeof createIntrospectionPolicy>;
