// Who may learn about a token (RFC 7662 §2.1 leaves it to the server), and whether it is still alive:
//   - a confidential client may introspect the tokens issued to it;
//   - a resource server may introspect tokens whose audience it is;
//   - nobody learns of a token issued before its account's logout everywhere: that token is inactive;
//   - a token of a deleted client, or addressed to a deleted API, is inactive at once (JWTs included).
// Everyone else gets {"active": false}, which reveals nothing.
import type { NotBeforeCheck } from '../accounts/not-before.js';
import type { ResourceServerLookup } from '../clients/resource-servers.js';

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

export interface IntrospectionPolicyDeps {
  resourceServers: ResourceServerLookup;
  notBefore: NotBeforeCheck;
  /** Whether the client exists now (the cached client lookup, which every change ends at once). */
  clientExists(clientId: string): Promise<boolean>;
}

export function createIntrospectionPolicy({ resourceServers, notBefore, clientExists }: IntrospectionPolicyDeps) {
  return async (client: IntrospectingClient, token: IntrospectedToken): Promise<boolean> => {
    if (client.clientAuthMethod === 'none') return false;
    let allowed = token.clientId === client.clientId;
    if (!allowed && token.aud !== undefined) {
      const identifier = await resourceServers.identifierOf(client.clientId);
      allowed = identifier !== undefined && [token.aud].flat().includes(identifier);
    }
    if (!allowed || (await notBefore(token.accountId, token.iat))) return false;
    if (token.clientId === undefined || !(await clientExists(token.clientId))) return false;
    for (const aud of token.aud === undefined ? [] : [token.aud].flat()) {
      if (aud !== token.clientId && !(await resourceServers.find(aud))) return false;
    }
    return true;
  };
}

export type IntrospectionPolicy = ReturnType<typeof createIntrospectionPolicy>;
