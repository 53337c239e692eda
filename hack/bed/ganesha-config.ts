// nfs-ganesha's configuration for the bed: one VFS export, NFS v3 and v4 on 127.0.0.1.

export interface GaneshaConfig {
  nfsPort: number;
  mountPort: number;
  /** The directory exported. */
  exportDir: string;
  /** The name clients use for it, for v3 and v4 alike. */
  pseudo: string;
  /** Where ganesha keeps its NFSv4 client records. */
  recoveryDir: string;
}

export function ganeshaConfig(o: GaneshaConfig): string {
  return `# Written by Warren's test bed.
NFS_CORE_PARAM {
  Protocols = 3, 4;
  NFS_Port = ${o.nfsPort};
  MNT_Port = ${o.mountPort};
  Bind_addr = 127.0.0.1;
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Mount_Path_Pseudo = true;  # v3 clients mount the pseudo path too, so one share name serves both
}
NFS_KRB5 { Active_krb5 = false; }
MDCACHE { Dir_Chunk = 0; }
NFSV4 { Graceless = true; Only_Numeric_Owners = true; RecoveryBackend = fs; RecoveryRoot = ${o.recoveryDir}; }
EXPORT {
  Export_Id = 1;
  Path = ${o.exportDir};
  Pseudo = ${o.pseudo};
  Access_Type = RW;
  Squash = No_Root_Squash;
  Protocols = 3, 4;
  Transports = TCP;
  # The bed writes into the export directly (as the controller does through its own mount);
  # without this, ganesha serves cached attributes and directory listings for up to a minute.
  Attr_Expiration_Time = 0;
  FSAL { Name = VFS; }
}
`;
}
