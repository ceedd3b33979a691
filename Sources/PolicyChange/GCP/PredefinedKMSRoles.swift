// Pinned catalogue: the Cloud KMS permissions of Google's predefined roles
// that matter on a crypto key (cloudkms.cryptoKeys.* and cloudkms.cryptoKeyVersions.*,
// plus a few key-ring and project permissions the roles also carry).
//
// Source: "Cloud Key Management Service roles and permissions",
// https://cloud.google.com/iam/docs/roles-permissions/cloudkms (read 2026-11-22;
// roles/cloudkms.admin's list confirmed there, including that it grants neither
// useToEncrypt nor useToDecrypt, only their …ViaDelegation forms).
// NOT confirmed against the page in this session (taken from the role
// descriptions and may lag Google's list): the exact lists of
// roles/cloudkms.cryptoOperator, roles/cloudkms.importer,
// roles/cloudkms.protectedResourcesViewer, and the cloudkms.* subsets of the
// basic roles roles/owner, roles/editor, roles/viewer. Basic roles: owner holds
// every cloudkms permission; editor every one but setIamPolicy; viewer the
// get/list ones (Google's basic-role docs).
//
// Update by editing this table and its tests (`GCPRoleCatalogueTests`).

/// The predefined roles' permissions, by role name.
public enum PredefinedKMSRoles {
    static let keyRead = ["cloudkms.cryptoKeys.get", "cloudkms.cryptoKeys.list",
        "cloudkms.cryptoKeyVersions.get", "cloudkms.cryptoKeyVersions.list",
        "cloudkms.keyRings.get", "cloudkms.keyRings.list", "cloudkms.locations.get", "cloudkms.locations.list"]
    static let keyAdmin = ["cloudkms.cryptoKeys.create", "cloudkms.cryptoKeys.getIamPolicy",
        "cloudkms.cryptoKeys.setIamPolicy", "cloudkms.cryptoKeys.update",
        "cloudkms.cryptoKeyVersions.create", "cloudkms.cryptoKeyVersions.destroy",
        "cloudkms.cryptoKeyVersions.restore", "cloudkms.cryptoKeyVersions.update",
        "cloudkms.keyRings.create", "cloudkms.keyRings.getIamPolicy", "cloudkms.keyRings.setIamPolicy"]
    static let delegation = ["cloudkms.cryptoKeyVersions.useToDecryptViaDelegation",
        "cloudkms.cryptoKeyVersions.useToEncryptViaDelegation"]
    static let cryptoUse = ["cloudkms.cryptoKeyVersions.useToDecrypt", "cloudkms.cryptoKeyVersions.useToEncrypt",
        "cloudkms.cryptoKeyVersions.useToSign", "cloudkms.cryptoKeyVersions.useToVerify",
        "cloudkms.cryptoKeyVersions.viewPublicKey"]

    public static let roles: [String: Set<String>] = [
        "roles/cloudkms.admin": Set(keyRead + keyAdmin + delegation),
        "roles/cloudkms.cryptoKeyEncrypterDecrypter": [
            "cloudkms.cryptoKeyVersions.useToDecrypt", "cloudkms.cryptoKeyVersions.useToEncrypt",
            "cloudkms.locations.get", "cloudkms.locations.list",
        ],
        "roles/cloudkms.cryptoKeyEncrypter": [
            "cloudkms.cryptoKeyVersions.useToEncrypt", "cloudkms.locations.get", "cloudkms.locations.list",
        ],
        "roles/cloudkms.cryptoKeyDecrypter": [
            "cloudkms.cryptoKeyVersions.useToDecrypt", "cloudkms.locations.get", "cloudkms.locations.list",
        ],
        "roles/cloudkms.cryptoKeyEncrypterDecrypterViaDelegation": Set(delegation),
        "roles/cloudkms.cryptoKeyEncrypterViaDelegation": ["cloudkms.cryptoKeyVersions.useToEncryptViaDelegation"],
        "roles/cloudkms.cryptoKeyDecrypterViaDelegation": ["cloudkms.cryptoKeyVersions.useToDecryptViaDelegation"],
        "roles/cloudkms.viewer": Set(keyRead + ["cloudkms.importJobs.get", "cloudkms.importJobs.list"]),
        "roles/cloudkms.publicKeyViewer": ["cloudkms.cryptoKeyVersions.viewPublicKey"],
        "roles/cloudkms.signer": ["cloudkms.cryptoKeyVersions.useToSign"],
        "roles/cloudkms.verifier": ["cloudkms.cryptoKeyVersions.useToVerify", "cloudkms.cryptoKeyVersions.viewPublicKey"],
        "roles/cloudkms.signerVerifier": [
            "cloudkms.cryptoKeyVersions.useToSign", "cloudkms.cryptoKeyVersions.useToVerify",
            "cloudkms.cryptoKeyVersions.viewPublicKey",
        ],
        "roles/cloudkms.cryptoOperator": Set(cryptoUse + ["cloudkms.locations.get", "cloudkms.locations.list"]),
        "roles/cloudkms.importer": ["cloudkms.importJobs.useToImport"],
        "roles/cloudkms.protectedResourcesViewer": ["cloudkms.protectedResources.search"],
        "roles/owner": Set(keyRead + keyAdmin + delegation + cryptoUse),
        "roles/editor": Set(keyRead + keyAdmin + delegation + cryptoUse)
            .subtracting(["cloudkms.cryptoKeys.setIamPolicy", "cloudkms.keyRings.setIamPolicy"]),
        "roles/viewer": Set(keyRead + ["cloudkms.cryptoKeys.getIamPolicy", "cloudkms.keyRings.getIamPolicy"]),
    ]
}
